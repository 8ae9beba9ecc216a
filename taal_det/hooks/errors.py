"""The hook's refusals: one line, prefixed with the hook's name."""


def refuse(message):
    """Raise ``ValueError('ActivePoolHook: <message>')``."""
    raise ValueError(f'ActivePoolHook: {message}')
