"""User commands of the `reprozoo` CLI, one module each (imported only when called).

A command module has a docstring (its first line is the help summary),
``add_arguments(parser)`` and ``run(args) -> int``.
"""

COMMANDS: dict[str, str] = {
    "fetch": "reprozoo.commands.fetch",
    "families": "reprozoo.commands.families_cmd",
    "repro-check": "reprozoo.commands.repro_check",
    "translate": "reprozoo.commands.translate",
    "recommend": "reprozoo.commands.recommend",
    "spam": "reprozoo.commands.spam",
}
