"""The one exception type the library raises for invalid designs."""


class ConfigError(ValueError):
    """An invalid design. The message names the field, the value and the allowed range.

    ``field`` is the config field at fault (or ``"json"`` for malformed input, ``"design"`` for
    whole-design limits) so that a UI can point at the widget.
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message
