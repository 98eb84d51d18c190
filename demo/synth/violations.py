"""What enterprises are penalised for and by whom, and the serious-dishonesty lists.

The laws and articles are real (as commonly cited in 双公示 decisions); `{district}` in an
authority is the enterprise's district (思明区), `{d}` in a prefix its first character.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["GENERAL", "LISTS", "TAX_EVASION", "TRADE_VIOLATIONS", "DishonestyList", "Violation"]


class Violation(NamedTuple):
    violation: str
    basis: str
    authority: str
    prefix: str  # of the authority's decision numbers, e.g. 厦市监罚
    penalties: tuple[tuple[str, int], ...]  # (penalty type, weight)
    fine: tuple[int, int]  # yuan, for a 罚款 or the income confiscated


_MARKET = "厦门市{district}市场监督管理局"
_FOOD = Violation(
    "经营不符合食品安全标准的食品", "《中华人民共和国食品安全法》第一百二十四条第一款",
    _MARKET, "厦{d}市监罚", (("罚款", 6), ("没收违法所得", 3), ("责令停产停业", 1)), (10_000, 100_000),
)  # fmt: skip
_FOOD_CHECKS = Violation(
    "未按规定查验食品进货", "《中华人民共和国食品安全法》第一百二十六条第一款", _MARKET, "厦{d}市监罚",
    (("警告", 5), ("罚款", 5)), (5_000, 50_000),
)  # fmt: skip
_PRODUCT = Violation(
    "生产不符合保障人体健康和人身、财产安全的国家标准的产品", "《中华人民共和国产品质量法》第四十九条",
    "厦门市市场监督管理局", "厦市监罚", (("没收违法所得", 4), ("罚款", 4), ("责令停产停业", 2)),
    (30_000, 300_000),
)  # fmt: skip
TRADE_VIOLATIONS: dict[str, tuple[Violation, ...]] = {
    "餐饮管理": (_FOOD, _FOOD_CHECKS),
    "食品": (_FOOD, _FOOD_CHECKS),
    "小吃店": (_FOOD, _FOOD_CHECKS),
    "便利店": (_FOOD_CHECKS,),
    "茶叶店": (_FOOD_CHECKS,),
    "建设工程": (
        Violation(
            "施工工地未采取有效防尘降尘措施", "《中华人民共和国大气污染防治法》第一百一十五条第一款",
            "厦门市生态环境局", "厦环罚", (("罚款", 8), ("责令停产停业", 2)), (10_000, 100_000),
        ),
        Violation(
            "拖欠劳动者工资", "《劳动保障监察条例》第二十六条", "厦门市人力资源和社会保障局", "厦人社监罚",
            (("罚款", 1),), (20_000, 200_000),
        ),
    ),
    "物流": (
        Violation(
            "使用未按规定进行年度审验的车辆从事道路运输", "《中华人民共和国道路运输条例》第七十条",
            "厦门市交通运输局", "厦交执罚", (("罚款", 7), ("暂扣许可证件", 3)), (3_000, 10_000),
        ),
    ),
    "医疗器械": (
        Violation(
            "经营未取得医疗器械注册证的第二类医疗器械", "《医疗器械监督管理条例》第八十六条",
            "厦门市市场监督管理局", "厦市监罚", (("罚款", 6), ("没收违法所得", 4)), (50_000, 300_000),
        ),
    ),
    "理发店": (
        Violation(
            "未取得公共场所卫生许可证擅自营业", "《公共场所卫生管理条例实施细则》第三十五条",
            "厦门市{district}卫生健康局", "厦{d}卫公罚", (("警告", 6), ("罚款", 4)), (500, 5_000),
        ),
    ),
    "电子": (_PRODUCT,),
    "机械设备": (_PRODUCT,),
    "服饰": (_PRODUCT,),
}  # fmt: skip
GENERAL = (  # any enterprise
    Violation(
        "不按规定明码标价", "《中华人民共和国价格法》第四十二条", _MARKET, "厦{d}市监罚",
        (("警告", 5), ("罚款", 5)), (500, 5_000),
    ),
    Violation(
        "发布虚假广告", "《中华人民共和国广告法》第五十五条第一款", "厦门市市场监督管理局", "厦市监罚",
        (("罚款", 8), ("没收违法所得", 2)), (20_000, 200_000),
    ),
    Violation(
        "消防设施、器材未保持完好有效", "《中华人民共和国消防法》第六十条第一款第一项",
        "厦门市{district}消防救援大队", "厦{d}消行罚决字", (("警告", 3), ("罚款", 7)), (5_000, 50_000),
    ),
    Violation(
        "未按照规定期限办理纳税申报和报送纳税资料", "《中华人民共和国税收征收管理法》第六十二条",
        "国家税务总局厦门市{district}税务局", "厦{d}税罚", (("罚款", 1),), (200, 2_000),
    ),
)  # fmt: skip
TAX_EVASION = Violation(
    "偷税", "《中华人民共和国税收征收管理法》第六十三条第一款", "国家税务总局厦门市税务局稽查局", "厦税稽罚",
    (("罚款", 1),), (50_000, 2_000_000),
)  # fmt: skip


class DishonestyList(NamedTuple):
    name: str
    reason: str
    listed_by: str
    years: int | None  # removed after this many years; None: once the obligation is met
    repaired: float  # share removed earlier, after credit repair (信用修复) or performance


LISTS = {
    "tax": DishonestyList(
        "重大税收违法失信主体", "偷税数额在100万元以上且占各税种应纳税总额10%以上",
        "国家税务总局厦门市税务局", 3, 0.2,
    ),
    "court": DishonestyList(
        "失信被执行人", "有履行能力而拒不履行生效法律文书确定的义务", "厦门市{district}人民法院", None, 0.4
    ),
    "wages": DishonestyList(
        "拖欠农民工工资失信联合惩戒对象", "拖欠农民工工资数额达到认定拒不支付劳动报酬罪的数额标准",
        "厦门市人力资源和社会保障局", 3, 0.3,
    ),
    "market": DishonestyList(
        "严重违法失信名单", "被列入经营异常名录届满3年仍未履行相关义务", "厦门市市场监督管理局", None, 0.0
    ),
}  # fmt: skip
