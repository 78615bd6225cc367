"""Every word a person reads: the languages, labels of codes, and phrases in gettext
catalogs (Babel), for LINE messages and, through Jinja's i18n extension, for pages.

    words("ja").gettext("Send location")                -> "位置情報を送る"
    words("en").gettext("about {m} m away", m=120)      -> "about 120 m away"
    label(ShelterHazard.FLOOD, "ja")                    -> "洪水"
    report_status_label("in_progress", "ja")            -> "対応中"

Pages get them through Jinja's i18n extension and `both()` (service/vocabulary/pages.py);
the catalogs' tooling is service/vocabulary/build.py (`make messages`, `make setup`).
"""

from service.vocabulary.catalogs import CatalogsNotCompiled, Phrase, Words, check_compiled, words
from service.vocabulary.labels import (
    CityLabels,
    depth_label,
    join_list,
    label,
    landslide_zone_label,
    report_status_label,
)
from service.vocabulary.languages import (
    DEFAULT,
    LANGUAGES,
    Lang,
    Language,
    language,
    language_of,
    pick,
)

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "CatalogsNotCompiled",
    "CityLabels",
    "Lang",
    "Language",
    "Phrase",
    "Words",
    "check_compiled",
    "depth_label",
    "join_list",
    "label",
    "landslide_zone_label",
    "language",
    "language_of",
    "pick",
    "report_status_label",
    "words",
]
