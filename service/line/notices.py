"""Notices (service.notifications) as LINE messages, in the recipient's language."""

from __future__ import annotations

from service.line.area_messages import alert_message
from service.line.messages import Message
from service.line.report_messages import status_notice
from service.notifications import AlertNotice, Notice
from service.settings import AlertSettings, ReportSettings
from service.vocabulary import Lang


class NoticeMessages:
    """Renders notices with the city's report categories and alert topics as configured when
    they are sent."""

    def __init__(self, reports: ReportSettings, alerts: AlertSettings) -> None:
        self._reports = reports
        self._alerts = alerts

    def render(self, notice: Notice, lang: Lang) -> list[Message]:
        """The LINE messages telling `notice` in `lang`."""
        if isinstance(notice, AlertNotice):
            topic = next((t for t in self._alerts.topics if t.code == notice.topic), None)
            return [alert_message(topic, notice.text, lang)]
        category = self._reports.category(notice.category)
        return status_notice(notice.report_id, category, notice.status, notice.note, lang)
