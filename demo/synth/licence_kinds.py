"""The licences an enterprise's trade needs, and how each is numbered, issued and renewed.

Formats follow the real ones (食品经营许可证 JY + 14 digits, 建筑业企业资质证书 D + 9 digits ...);
the serial numbers are invented. `{district}` in an authority is the enterprise's district
(思明区) and `{d}` in a decision-number prefix its first character (思).
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

__all__ = ["BUSINESS_LICENCE", "TRADE_LICENCES", "LicenceKind"]


class LicenceKind(NamedTuple):
    kind: str
    number: str  # format of the licence number: {area} {year} {serial}
    years: int | None  # how long each issue is valid; None: long-term (长期)
    authority: str
    prefix: str  # the authority's abbreviation in its decision numbers, e.g. 厦市监许
    category: str  # of the licensing decision: 普通 / 特许 / 认可 / 核准 / 登记
    content: str  # what the decision permits
    delay: int  # at most this many days after establishment it is first issued
    since: dt.date | None = None  # the licence exists since; earlier holders were issued it then


BUSINESS_LICENCE = "营业执照"
_FOOD = dt.date(2015, 10, 1)  # 食品经营许可 replaced 食品流通许可 and 餐饮服务许可

_FOOD_SERVICE = LicenceKind(
    "食品经营许可证", "JY2{area}{serial:07d}", 5, "厦门市{district}市场监督管理局", "厦{d}市监食许", "普通",
    "餐饮服务：热食类食品制售、冷食类食品制售", 90, _FOOD,
)  # fmt: skip
_FOOD_SALES = LicenceKind(
    "食品经营许可证", "JY1{area}{serial:07d}", 5, "厦门市{district}市场监督管理局", "厦{d}市监食许", "普通",
    "食品销售：预包装食品（含冷藏冷冻食品）销售、散装食品销售", 60, _FOOD,
)  # fmt: skip
_FOOD_PRODUCTION = LicenceKind(
    "食品生产许可证", "SC106{area}{serial:05d}", 5, "厦门市市场监督管理局", "厦市监食产许", "普通",
    "食品生产：糕点、饮料、方便食品", 365, _FOOD,
)  # fmt: skip
_TOBACCO = LicenceKind(
    "烟草专卖零售许可证", "{area}{serial:06d}", 5, "厦门市烟草专卖局", "厦烟专许", "特许",
    "卷烟、雪茄烟零售", 120,
)  # fmt: skip
_CONSTRUCTION = LicenceKind(
    "建筑业企业资质证书", "D335{serial:06d}", 5, "厦门市建设局", "厦建许", "认可",
    "建筑工程施工总承包三级", 540,
)  # fmt: skip
_WORK_SAFETY = LicenceKind(
    "安全生产许可证", "(闽)JZ安许证字[{year}]{serial:06d}", 3, "福建省住房和城乡建设厅", "闽建安许", "普通",
    "建筑施工", 720,
)  # fmt: skip
_ROAD = LicenceKind(
    "道路运输经营许可证", "闽交运管许可厦字350200{serial:06d}号", 4, "厦门市交通运输局", "厦交运许", "普通",
    "道路普通货物运输，货物专用运输（集装箱）", 180,
)  # fmt: skip
_MEDICAL = LicenceKind(
    "医疗器械经营许可证", "闽厦药监械经营许{year}{serial:04d}号", 5, "厦门市市场监督管理局", "厦市监械许",
    "普通", "第三类医疗器械经营：注射穿刺器械、医用卫生材料及敷料", 365,
)  # fmt: skip
_TRAVEL = LicenceKind(
    "旅行社业务经营许可证", "L-FJ-{serial:05d}", None, "福建省文化和旅游厅", "闽文旅许", "普通",
    "国内旅游业务、入境旅游业务", 365,
)  # fmt: skip
_BROADCAST = LicenceKind(
    "广播电视节目制作经营许可证", "(闽)字第{serial:05d}号", 2, "福建省广播电视局", "闽广电许", "普通",
    "广播电视节目制作、发行（不得制作时政、新闻类节目）", 365,
)  # fmt: skip
_HYGIENE = LicenceKind(
    "公共场所卫生许可证", "闽厦卫公字〔{year}〕第{area}{serial:05d}号", 4, "厦门市{district}卫生健康局",
    "厦{d}卫公许", "核准", "公共场所卫生许可：理发店、美容店", 60,
)  # fmt: skip

# trade (the industry word or shop in an enterprise's name) -> (licence, share of holders)
TRADE_LICENCES: dict[str, tuple[tuple[LicenceKind, float], ...]] = {
    "餐饮管理": ((_FOOD_SERVICE, 0.9),),
    "食品": ((_FOOD_PRODUCTION, 0.85), (_FOOD_SALES, 0.5)),
    "建设工程": ((_CONSTRUCTION, 0.9), (_WORK_SAFETY, 0.7)),
    "物流": ((_ROAD, 0.85),),
    "医疗器械": ((_MEDICAL, 0.5),),
    "旅游": ((_TRAVEL, 0.7),),
    "文化传媒": ((_BROADCAST, 0.2),),
    "小吃店": ((_FOOD_SERVICE, 0.95),),
    "便利店": ((_FOOD_SALES, 0.95), (_TOBACCO, 0.6)),
    "茶叶店": ((_FOOD_SALES, 0.9),),
    "理发店": ((_HYGIENE, 0.9),),
}
