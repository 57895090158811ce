"""The wiring: pygls handlers that keep each open document analysed and answer from it.

Every handler is total: a request that meets an unexpected exception answers its empty result
(and logs the error), so one odd document cannot take the server down.
"""

from __future__ import annotations

import functools
import logging

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from .. import __version__
from .completion import complete
from .diagnostics import publishable
from .documents import Document, analyse
from .editing import formatting, symbols
from .hover import hover
from .navigation import all_references, definition, rename
from .semantic import LEGEND, semantic_tokens

log = logging.getLogger(__name__)


class TfspecServer(LanguageServer):
    def __init__(self):
        super().__init__("tfspec", __version__)
        self.documents: dict[str, Document] = {}

    @property
    def encoding(self) -> str:
        try:
            encoding = self.workspace.position_encoding  # as agreed at initialize
        except Exception:  # noqa: BLE001 -- no workspace before initialize
            encoding = None
        return str(getattr(encoding, "value", encoding) or "utf-16")

    def refresh(self, uri: str) -> None:
        """Analyse the document's current text and publish its diagnostics."""
        text = self.workspace.get_text_document(uri).source
        doc = analyse(self.documents.setdefault(uri, Document(uri)), text)
        self.publish(uri, publishable(doc, self.encoding))

    def publish(self, uri: str, diagnostics: list) -> None:
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    def document(self, uri: str) -> Document | None:
        return self.documents.get(uri)


def total(default):
    """Answer `default` instead of raising."""

    def wrap(handler):
        @functools.wraps(handler)
        def safe(server, params):
            try:
                return handler(server, params)
            except Exception:  # noqa: BLE001 -- a request must be answered, not crash the server
                log.exception("tfspec lsp: %s failed", handler.__name__)
                return default

        return safe

    return wrap


def make_server() -> TfspecServer:
    ls = TfspecServer()

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @total(None)
    def did_open(ls: TfspecServer, params: types.DidOpenTextDocumentParams):
        ls.refresh(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @total(None)
    def did_change(ls: TfspecServer, params: types.DidChangeTextDocumentParams):
        ls.refresh(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @total(None)
    def did_close(ls: TfspecServer, params: types.DidCloseTextDocumentParams):
        ls.documents.pop(params.text_document.uri, None)
        ls.publish(params.text_document.uri, [])

    @ls.feature(types.TEXT_DOCUMENT_HOVER)
    @total(None)
    def on_hover(ls: TfspecServer, params: types.HoverParams):
        doc = ls.document(params.text_document.uri)
        return hover(doc, params.position, ls.encoding) if doc else None

    @ls.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["(", ",", " ", ">"]))
    @total(None)
    def on_completion(ls: TfspecServer, params: types.CompletionParams):
        doc = ls.document(params.text_document.uri)
        return complete(doc, params.position, ls.encoding) if doc else None

    @ls.feature(types.TEXT_DOCUMENT_FORMATTING)
    @total([])
    def on_formatting(ls: TfspecServer, params: types.DocumentFormattingParams):
        doc = ls.document(params.text_document.uri)
        return formatting(doc, ls.encoding) if doc else []

    @ls.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @total([])
    def on_symbols(ls: TfspecServer, params: types.DocumentSymbolParams):
        doc = ls.document(params.text_document.uri)
        return symbols(doc, ls.encoding) if doc else []

    @ls.feature(types.TEXT_DOCUMENT_DEFINITION)
    @total(None)
    def on_definition(ls: TfspecServer, params: types.DefinitionParams):
        doc = ls.document(params.text_document.uri)
        return definition(doc, params.position, ls.encoding) if doc else None

    @ls.feature(types.TEXT_DOCUMENT_REFERENCES)
    @total([])
    def on_references(ls: TfspecServer, params: types.ReferenceParams):
        doc = ls.document(params.text_document.uri)
        return all_references(doc, params.position, ls.encoding) if doc else []

    @ls.feature(types.TEXT_DOCUMENT_RENAME)
    @total(None)
    def on_rename(ls: TfspecServer, params: types.RenameParams):
        doc = ls.document(params.text_document.uri)
        return rename(doc, params.position, params.new_name, ls.encoding) if doc else None

    @ls.feature(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, types.SemanticTokensLegend(token_types=LEGEND, token_modifiers=[])
    )
    @total(types.SemanticTokens(data=[]))
    def on_semantic_tokens(ls: TfspecServer, params: types.SemanticTokensParams):
        doc = ls.document(params.text_document.uri)
        return semantic_tokens(doc, ls.encoding) if doc else types.SemanticTokens(data=[])

    return ls
