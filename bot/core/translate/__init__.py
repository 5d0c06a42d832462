"""Statement translation: one parsed statement in, changes (applied to the state) out."""

from sqlglot.errors import SqlglotError

from bot.core.translate.base import Unsupported
from bot.core.translate.commands import merge_sequence_options
from bot.core.translate.translator import Translator

__all__ = ["SqlglotError", "Translator", "Unsupported", "merge_sequence_options"]
