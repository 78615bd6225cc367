"""What every handler of a LINE event may use."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from service.line.conversation import ReportContext
from service.line.keywords import KeywordTable
from service.line.platform import LinePlatform
from service.settings import AnswerSettings, Settings


@dataclass
class HandlerContext:
    """The database, the platform client, the settings, and what the report conversation
    and the keyword answers need."""

    engine: AsyncEngine
    platform: LinePlatform
    settings: Settings
    report: ReportContext
    keywords: KeywordTable

    @property
    def answer(self) -> AnswerSettings:
        """Settings of the location answer."""
        return self.settings.answer
