"""The ``cpt-search`` command line.

Commands live in their own modules and are imported only when invoked, so ``cpt-search schedule``
never pays for torch, Ray or MLflow (Ray Tune's ``tune/search/__init__.py`` does the same with its
table of searchers). Only the CLI configures logging.
"""

from __future__ import annotations

import importlib
import logging
import sys
import traceback
import warnings
from types import TracebackType
from typing import Self

import click

from cpt_search.errors import CptSearchError
from cpt_search.extras import missing_dependency

logger = logging.getLogger(__name__)

# command name -> "module:attribute" of a click command, imported on demand.
COMMANDS: dict[str, str] = {
    "schedule": "cpt_search.cli.schedule_cmd:schedule",
    "train": "cpt_search.cli.train_cmd:train",
    "validate": "cpt_search.cli.validate_cmd:validate",
    "check-task": "cpt_search.cli.check_cmd:check_task",
    "run": "cpt_search.cli.search_cmd:run",
    "front": "cpt_search.cli.search_cmd:front",
    "confirm": "cpt_search.cli.confirm_cmd:confirm",
    "export": "cpt_search.cli.search_cmd:export",
    "ui": "cpt_search.cli.search_cmd:ui",
    "sync": "cpt_search.cli.sync_cmd:sync",
    "reproduce": "cpt_search.cli.analysis_cmd:reproduce",
    "critical-period": "cpt_search.cli.analysis_cmd:critical_period",
    "range-test": "cpt_search.cli.analysis_cmd:range_test",
}

SHORT_HELP: dict[str, str] = {
    "schedule": "Print, summarise or plot one precision schedule.",
    "train": "Train one task once under a precision schedule.",
    "validate": "Check a search-space YAML and print its resolved dimensions.",
    "check-task": "Run the task contract on a user's task (module:attribute), one line per problem.",
    "run": "Run (or resume) a multi-objective schedule search.",
    "front": "Print the Pareto front of a search.",
    "confirm": "Retrain a finished search's front on more seeds (run or resume).",
    "export": "Export a schedule chosen from a search's front.",
    "ui": "Start the MLflow UI on a search's store.",
    "sync": "Record in MLflow what a search's Optuna study holds (after a tracking-server outage).",
    "reproduce": "Train the ten paper presets and static baselines over seeds; table + correlation.",
    "critical-period": "Measure the damage of an early vs late low-precision window.",
    "range-test": "CPT's precision range test: suggest min_bits for a task.",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every command (and torch with them).
        with formatter.section("Commands"):
            formatter.write_dl([(name, SHORT_HELP.get(name, "")) for name in COMMANDS])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logs.")
@click.version_option(package_name="cpt-search")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Search precision schedules for cyclic precision training (CPT)."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )


class _DeferredWarnings:
    """Hold the warnings a command issues until it is known whether it failed on the user's input.

    Third-party libraries warn while they are imported (torch's ``torch.jit.script`` deprecation,
    for one), which is before a command has checked its input. A bad input must end in exactly one
    ``error:`` line, so warnings are kept back: dropped (logged at DEBUG) when the command stops on a
    user error, shown through the original ``warnings.showwarning`` when it finishes in any other way.
    With ``--debug`` they are shown as they happen. At most :attr:`LIMIT` are kept; the rest are
    counted.
    """

    LIMIT = 100

    def __init__(self, live: bool) -> None:
        self.live = live
        self.held: list[warnings.WarningMessage] = []
        self.dropped = 0
        self._context = warnings.catch_warnings()

    def __enter__(self) -> Self:
        self._context.__enter__()  # restores the filters and showwarning on exit
        self._show = warnings.showwarning
        if not self.live:
            warnings.showwarning = self._hold
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._context.__exit__(exc_type, exc, tb)

    def _hold(self, message, category, filename, lineno, file=None, line=None) -> None:
        if len(self.held) < self.LIMIT:
            self.held.append(warnings.WarningMessage(message, category, filename, lineno, file, line))
        else:
            self.dropped += 1

    def discard(self) -> None:
        """Drop the held warnings (the command failed on the user's input)."""
        for held in self.held:
            logger.debug("warning before the error: %s: %s", held.category.__name__, held.message)
        self.held.clear()

    def release(self) -> None:
        """Show the held warnings as Python would have."""
        for held in self.held:
            self._show(held.message, held.category, held.filename, held.lineno, held.file, held.line)
        if self.dropped:
            click.echo(f"({self.dropped} more warnings not shown)", err=True)
        self.held.clear()


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI; user errors become one line on stderr and exit status 2."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    deferred = _DeferredWarnings(live=debug)
    with deferred:
        try:
            code = _run(args, debug)
        except _UserError as error:
            deferred.discard()
            click.echo(f"error: {error.line}", err=True)
            return error.exit_code
        finally:
            deferred.release()
    return code


class _UserError(Exception):
    """A command that stopped on the user's input: the one line and the exit status."""

    def __init__(self, line: str, exit_code: int) -> None:
        super().__init__(line)
        self.line = line
        self.exit_code = exit_code


def _run(args: list[str], debug: bool) -> int:
    try:
        code = cli.main(args=args, prog_name="cpt-search", standalone_mode=False)
    except CptSearchError as error:
        if debug:
            traceback.print_exc()
        raise _UserError(str(error), 2) from None
    except ModuleNotFoundError as error:
        # The torch-free core installs without the heavy extras (cpt_search.extras).
        missing = missing_dependency(error)
        if missing is None:
            raise
        if debug:
            traceback.print_exc()
        raise _UserError(str(missing), 2) from None
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    except click.ClickException as error:
        # click's own usage errors (unknown option, bad int): one line, same status.
        if debug:
            traceback.print_exc()
        hint = ""
        # Only usage errors carry the command's context; a FileError (the other ClickException) has none.
        usage_ctx = error.ctx if isinstance(error, click.UsageError) else None
        if usage_ctx is not None:
            hint = f" (see '{usage_ctx.command_path} --help')"
        raise _UserError(f"{error.format_message()}{hint}", error.exit_code) from None
    # Without standalone mode, click returns ctx.exit(N)'s code (or the command's return value).
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
