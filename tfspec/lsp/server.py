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


def on_document(default):
    """A request about an open document: `handler(doc, params, encoding)`; `default` answers for a
    document the server does not hold, and (see `total`) for an unexpected exception."""

    def wrap(handler):
        # pygls passes the server to a handler whose first parameter is named `ls`; no
        # functools.wraps here, which would show it the handler's own signature
        def answer(ls, params):
            doc = ls.document(params.text_document.uri)
            return default if doc is None else handler(doc, params, ls.encoding)

        answer.__name__ = handler.__name__  # for the log
        return total(default)(answer)

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
    @on_document(None)
    def on_hover(doc, params: types.HoverParams, encoding):
        return hover(doc, params.position, encoding)

    @ls.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=["(", ",", " ", ">"]))
    @on_document(None)
    def on_completion(doc, params: types.CompletionParams, encoding):
        return complete(doc, params.position, encoding)

    @ls.feature(types.TEXT_DOCUMENT_FORMATTING)
    @on_document([])
    def on_formatting(doc, params: types.DocumentFormattingParams, encoding):
        return formatting(doc, encoding)

    @ls.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @on_document([])
    def on_symbols(doc, params: types.DocumentSymbolParams, encoding):
        return symbols(doc, encoding)

    @ls.feature(types.TEXT_DOCUMENT_DEFINITION)
    @on_document(None)
    def on_definition(doc, params: types.DefinitionParams, encoding):
        return definition(doc, params.position, encoding)

    @ls.feature(types.TEXT_DOCUMENT_REFERENCES)
    @on_document([])
    def on_references(doc, params: types.ReferenceParams, encoding):
        return all_references(doc, params.position, encoding)

    @ls.feature(types.TEXT_DOCUMENT_RENAME)
    @on_document(None)
    def on_rename(doc, params: types.RenameParams, encoding):
        return rename(doc, params.position, params.new_name, encoding)

    @ls.feature(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, types.SemanticTokensLegend(token_types=LEGEND, token_modifiers=[])
    )
    @on_document(types.SemanticTokens(data=[]))
    def on_semantic_tokens(doc, params: types.SemanticTokensParams, encoding):
        return semantic_tokens(doc, encoding)

    return ls
