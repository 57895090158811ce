"""Console progress: a live line on a TTY (updated once per tf.function call), else a line per epoch."""

import sys
import time


def format_logs(logs):
    parts = []
    for key, value in logs.items():
        if value is None:
            parts.append(f"{key} nan")
        elif key == "lr":
            parts.append(f"lr {value:.3g}")
        else:
            parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)


def format_seconds(seconds):
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


class Progress:
    def __init__(self, epochs, steps_per_epoch, quiet=False, stream=None, width=20):
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.tty = not quiet and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.epochs, self.steps = epochs, steps_per_epoch
        self.width = width
        self.started = self.first_step = 0

    def _write(self, text):
        if not self.quiet:
            self.stream.write(text)
            self.stream.flush()

    def message(self, text):
        self._write(text + "\n")

    def epoch_begin(self, epoch, first_step=0):
        self.epoch, self.first_step, self.started = epoch, first_step, time.perf_counter()

    def update(self, step, logs):
        """Redraw the live line after a call that reached `step` (1-based) of the epoch."""
        if not self.tty:
            return
        elapsed = time.perf_counter() - self.started
        done = step - self.first_step
        eta = elapsed / done * (self.steps - step) if done else 0.0
        filled = int(self.width * step / self.steps)
        bar = "=" * filled + (">" if filled < self.width else "") + " " * (self.width - filled - 1)
        line = (
            f"epoch {self.epoch + 1}/{self.epochs} {step:>{len(str(self.steps))}}/{self.steps} "
            f"[{bar}] ETA {format_seconds(eta)}  {format_logs(logs)}"
        )
        self._write("\r" + line + "\x1b[K")

    def epoch_end(self, logs):
        seconds = time.perf_counter() - self.started
        rate = (self.steps - self.first_step) / seconds if seconds > 0 else 0.0
        line = (
            f"epoch {self.epoch + 1}/{self.epochs}  {self.steps} steps  {format_seconds(seconds)} "
            f"({rate:.0f} steps/s)  {format_logs(logs)}"
        )
        self._write(("\r" + line + "\x1b[K\n") if self.tty else line + "\n")

    def summary(self, epochs_run, seconds, steps, test=None):
        text = (
            f"trained {epochs_run} epoch{'s' if epochs_run != 1 else ''}, {steps} steps "
            f"in {format_seconds(seconds)} ({steps / seconds if seconds > 0 else 0:.0f} steps/s)"
        )
        if test:
            text += "  test: " + format_logs(test)
        self.message(text)
