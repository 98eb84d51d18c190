"""Word lists for the synthetic city: places, people's names, enterprises, schools.

Every person built from these lists is invented; place names and area codes are real so
that identifiers and addresses look like Xiamen's.
"""

from __future__ import annotations

from random import Random

__all__ = [
    "BRAND_FIRST",
    "BRAND_SECOND",
    "COMMUNITIES",
    "DISTRICTS",
    "DISTRICT_WEIGHTS",
    "ETHNICITIES",
    "FEMALE_CHARS",
    "INDUSTRIES",
    "MALE_CHARS",
    "MIGRANT_ORIGINS",
    "NEUTRAL_CHARS",
    "ROADS",
    "SHOPS",
    "SURNAMES",
    "VILLAGES",
    "birth_area",
    "chinese_number",
    "office_address",
    "street_address",
]

# (area code, name); index order is used everywhere a district is stored as an int.
DISTRICTS: tuple[tuple[str, str], ...] = (
    ("350203", "思明区"),
    ("350205", "海沧区"),
    ("350206", "湖里区"),
    ("350211", "集美区"),
    ("350212", "同安区"),
    ("350213", "翔安区"),
)
DISTRICT_WEIGHTS = (0.20, 0.12, 0.19, 0.20, 0.16, 0.13)

ROADS: tuple[tuple[str, ...], ...] = (
    ("中山路", "厦禾路", "湖滨南路", "莲前西路", "禾祥西路", "思明南路", "鹭江道", "演武路"),
    ("海沧大道", "新阳路", "沧林路", "钟林路", "兴港路", "马青路"),
    ("兴隆路", "江头北路", "湖里大道", "枋湖路", "金山路", "仙岳路", "五缘湾道"),
    ("集美大道", "杏林湾路", "乐海路", "侨英路", "银江路", "软件园路"),
    ("环城南路", "西柯街", "同安大道", "祥平街", "城东路", "五显路"),
    ("翔安南路", "新店路", "马巷路", "舫山路", "内厝路", "民安大道"),
)
COMMUNITIES = tuple(
    a + b
    for a in ("阳光", "海韵", "书香", "滨海", "怡景", "锦绣", "鹭岛", "翠湖", "明珠", "宏福", "丽景", "嘉禾")
    for b in ("花园", "小区", "苑", "家园", "新村")
)

# Migrants' places of origin: (birth area code in the id, current hukou code, hukou place).
MIGRANT_ORIGINS: tuple[tuple[str, str, str], ...] = (
    ("360426", "360426", "江西省九江市德安县"),
    ("360730", "360730", "江西省赣州市宁都县"),
    ("360781", "360781", "江西省赣州市瑞金市"),
    ("430521", "430582", "湖南省邵阳市邵东市"),
    ("350583", "350583", "福建省泉州市南安市"),
    ("350582", "350582", "福建省泉州市晋江市"),
    ("350623", "350623", "福建省漳州市漳浦县"),
    ("350322", "350322", "福建省莆田市仙游县"),
    ("350821", "350821", "福建省龙岩市长汀县"),
    ("421127", "421127", "湖北省黄冈市黄梅县"),
    ("411522", "411522", "河南省信阳市光山县"),
    ("510722", "510722", "四川省绵阳市三台县"),
    ("511321", "511321", "四川省南充市南部县"),
    ("500235", "500235", "重庆市云阳县"),
    ("520521", "520521", "贵州省毕节市大方县"),
    ("340822", "340822", "安徽省安庆市怀宁县"),
)

VILLAGES = ("城关镇", "新华村", "东风村", "红星村", "长岭村", "石桥村", "下洋村", "前进村")

SURNAMES: tuple[tuple[str, float], ...] = (
    ("陈", 10.0),
    ("林", 9.0),
    ("黄", 6.0),
    ("张", 5.0),
    ("李", 5.0),
    ("王", 4.5),
    ("吴", 4.0),
    ("刘", 3.5),
    ("蔡", 3.0),
    ("杨", 3.0),
    ("郑", 3.0),
    ("许", 2.5),
    ("洪", 2.0),
    ("谢", 2.0),
    ("曾", 2.0),
    ("周", 2.0),
    ("苏", 1.8),
    ("庄", 1.6),
    ("叶", 1.6),
    ("郭", 1.5),
    ("何", 1.2),
    ("柯", 1.0),
    ("魏", 1.0),
    ("徐", 1.0),
    ("赵", 1.0),
    ("孙", 0.8),
    ("胡", 0.8),
    ("朱", 0.8),
    ("高", 0.8),
    ("罗", 0.8),
    ("马", 0.6),
    ("梁", 0.6),
    ("宋", 0.5),
    ("邱", 0.6),
    ("余", 0.5),
    ("卢", 0.6),
    ("江", 0.6),
    ("潘", 0.5),
    ("施", 0.5),
    ("方", 0.5),
    ("颜", 0.4),
    ("傅", 0.4),
)
MALE_CHARS = "伟强磊军勇杰涛斌超明辉鹏华建俊峰宇浩凯晨博文志泽睿轩铭航昊毅彬鑫荣坤海"
FEMALE_CHARS = "芳娜敏静丽艳婷雪慧颖琳倩欣怡佳萱涵梦诗雨晴蕾玲燕霞妍瑶璐茜莹"
NEUTRAL_CHARS = "子家一思晓嘉安可若心书彦宁清乐"

ETHNICITIES: tuple[tuple[str, float], ...] = (
    ("汉族", 95.5),
    ("畲族", 1.2),
    ("回族", 0.8),
    ("满族", 0.6),
    ("壮族", 0.5),
    ("土家族", 0.5),
    ("苗族", 0.4),
    ("高山族", 0.3),
    ("蒙古族", 0.2),
)

# (word in the enterprise name, business scope)
INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("科技", "软件开发；信息技术咨询服务；数据处理和存储支持服务"),
    ("贸易", "货物进出口；技术进出口；日用百货销售；五金产品批发"),
    ("物流", "普通货物仓储服务；国内货物运输代理；道路货物运输"),
    ("餐饮管理", "餐饮服务；食品销售；餐饮管理"),
    ("建设工程", "建设工程施工；住宅室内装饰装修；建筑材料销售"),
    ("电子", "电子元器件制造；电子产品销售；集成电路设计"),
    ("文化传媒", "广告设计、代理；组织文化艺术交流活动；会议及展览服务"),
    ("食品", "食品生产；食品销售；农副产品销售"),
    ("服饰", "服装制造；服装服饰批发；鞋帽零售"),
    ("机械设备", "通用设备制造；机械设备销售；机械设备租赁"),
    ("医疗器械", "第二类医疗器械销售；医疗设备租赁"),
    ("物业管理", "物业管理；停车场服务；家政服务"),
    ("旅游", "旅游业务；票务代理服务；酒店管理"),
    ("教育咨询", "教育咨询服务；业务培训；文化咨询"),
)
SHOPS: tuple[tuple[str, str], ...] = (
    ("小吃店", "餐饮服务；食品销售"),
    ("便利店", "日用百货销售；食品销售"),
    ("五金店", "五金产品零售"),
    ("理发店", "理发服务；生活美容服务"),
    ("水果店", "新鲜水果零售"),
    ("汽车修理部", "机动车修理和维护"),
    ("茶叶店", "茶叶零售；茶具销售"),
    ("服装店", "服装服饰零售"),
)
BRAND_FIRST = "鹭海嘉禾鑫恒盛华宏瑞康达诚信泰福源隆兴鼎联博晟创丰汇金明安永"
BRAND_SECOND = "远通达盛泰祥发源丰业润辉晨宇腾峰佳新昊和美航凯诺科捷驰扬合众"

_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..9999 in Chinese numerals, as in 第十二中学 or 第一百零一小学."""
    if n < 10:
        return _DIGITS[n]
    if n < 20:
        return "十" + (_DIGITS[n - 10] if n > 10 else "")
    out, gap = "", False
    for unit, place in (("千", 1000), ("百", 100), ("十", 10), ("", 1)):
        if n < place:
            continue
        digit = n // place % 10
        if digit == 0:
            gap = True
            continue
        out += ("零" if gap else "") + _DIGITS[digit] + unit
        gap = False
    return out


def street_address(rng: Random, district: int, *, collective: bool = False) -> str:
    """A residential address in a district (by index into DISTRICTS)."""
    road = rng.choice(ROADS[district])
    if collective:
        return f"福建省厦门市{DISTRICTS[district][1]}{road}{rng.randint(1, 999)}号集体户"
    community = rng.choice(COMMUNITIES)
    floor, room = rng.randint(1, 32), rng.randint(1, 6)
    return (
        f"福建省厦门市{DISTRICTS[district][1]}{road}{rng.randint(1, 999)}号"
        f"{community}{rng.randint(1, 40)}栋{floor}{room:02d}室"
    )


def office_address(rng: Random, district: int) -> str:
    """A business or school address in a district."""
    road = rng.choice(ROADS[district])
    return f"福建省厦门市{DISTRICTS[district][1]}{road}{rng.randint(1, 999)}号{rng.randint(1, 30)}层"


def birth_area(district: int, year: int, rng: Random) -> str:
    """The area code a Xiamen-born person's id carries: the code in force at first registration."""
    code = DISTRICTS[district][0]
    if code == "350203" and 1983 <= year <= 2003:
        return rng.choices(("350203", "350204", "350202"), (60, 35, 5))[0]  # 开元, 鼓浪屿 merged 2003
    if code == "350206" and year < 1987:
        return "350203"
    if code in ("350212", "350213") and year < 1997:
        return "350221"  # 同安县 until 1997
    if code == "350213" and year < 2003:
        return "350212"  # 翔安 split from 同安 in 2003
    return code
