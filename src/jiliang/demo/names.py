"""Word lists for synthetic Shanghai demo data: people, roads, organisations, instrument makers.

Every name is invented from common parts; a coincidence with a real organisation is not intended.
"""

from __future__ import annotations

import random

__all__ = [
    "DISTRICT_WEIGHTS",
    "ROADS",
    "MARKETS",
    "SURNAMES",
    "GIVEN",
    "person_name",
    "short_district",
    "organisation_code",
    "STALL_GOODS",
    "SUPERMARKET_BRANDS",
    "PETROL_BRANDS",
    "TAXI_BRANDS",
    "EV_BRANDS",
    "HOSPITAL_KINDS",
    "CLINIC_NAMES",
    "MAKERS",
]

# Resident population in units of 10,000 (rounded, 2020 census): how many owners each district gets.
DISTRICT_WEIGHTS: dict[str, int] = {
    "310101": 66,
    "310104": 111,
    "310105": 69,
    "310106": 97,
    "310107": 123,
    "310109": 70,
    "310110": 124,
    "310112": 265,
    "310113": 223,
    "310114": 183,
    "310115": 578,
    "310116": 82,
    "310117": 191,
    "310118": 127,
    "310120": 114,
    "310151": 63,
}

ROADS: dict[str, tuple[str, ...]] = {
    "310101": ("南京东路", "淮海中路", "西藏南路", "河南中路", "复兴东路", "陆家浜路"),
    "310104": ("漕溪北路", "天钥桥路", "肇嘉浜路", "宜山路", "龙华中路", "田林路"),
    "310105": ("天山路", "愚园路", "仙霞路", "延安西路", "古北路", "哈密路"),
    "310106": ("南京西路", "共和新路", "大统路", "江宁路", "延长中路", "彭江路"),
    "310107": ("曹杨路", "真北路", "长寿路", "武宁路", "金沙江路", "铜川路"),
    "310109": ("四川北路", "曲阳路", "大连路", "东江湾路", "广中路", "海伦路"),
    "310110": ("控江路", "黄兴路", "国权路", "平凉路", "长阳路", "殷行路"),
    "310112": ("沪闵路", "七莘路", "都市路", "虹井路", "莘松路", "剑川路"),
    "310113": ("牡丹江路", "友谊路", "共康路", "泰和路", "长江西路", "淞滨路"),
    "310114": ("城中路", "博乐路", "沪宜公路", "叶城路", "塔城路", "清河路"),
    "310115": ("张杨路", "世纪大道", "川沙路", "浦东南路", "东方路", "杨高中路", "康桥路"),
    "310116": ("卫零路", "蒙山路", "龙胜路", "朱泾路", "石化大道"),
    "310117": ("人民北路", "荣乐中路", "中山中路", "沪亭北路", "谷阳北路"),
    "310118": ("公园路", "城中北路", "外青松公路", "华志路", "盈港东路"),
    "310120": ("解放中路", "环城东路", "金海公路", "南奉公路", "百齐路"),
    "310151": ("八一路", "人民路", "东门路", "陈海公路", "鳌山路"),
}

MARKETS = ("菜市场", "农贸市场", "生鲜市场")

SURNAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
)
GIVEN = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "文",
    "华",
    "红",
    "建国",
    "志强",
    "海燕",
    "慧",
    "晓东",
    "佳怡",
    "浩",
    "俊",
    "婷",
    "雪",
    "颖",
    "立新",
    "国平",
    "美玲",
    "振宇",
    "思远",
    "雨婷",
    "凯",
    "琳",
    "斌",
    "晨",
    "玮",
)

STALL_GOODS = ("蔬菜", "水产", "鲜肉", "禽蛋", "水果", "豆制品", "干货", "熟食", "粮油", "南北货")
SUPERMARKET_BRANDS = ("惠邻", "佳乐汇", "鲜丰", "邻家优选", "润家", "福满多", "万家福", "申惠", "百佳汇", "乐邻")
PETROL_BRANDS = ("申海", "浦江", "沪东", "东方能源", "海港", "金桥", "沪西", "江海")
TAXI_BRANDS = ("申程", "浦运", "沪安", "吉祥", "银杏", "海天")
EV_BRANDS = ("绿动", "易充", "申能充", "快电", "沪电桩")
HOSPITAL_KINDS = ("中心医院", "人民医院", "中医医院", "妇幼保健院", "精神卫生中心")
CLINIC_NAMES = ("街道社区卫生服务中心", "镇社区卫生服务中心")

# Makers and models per instrument item (kind of instrument, not tied to any real product line).
MAKERS: dict[str, tuple[tuple[str, str], ...]] = {
    "nawi": (
        ("上海大华电子秤厂", "TM-A15"),
        ("寺冈电子（上海）", "SM-100"),
        ("凯丰集团", "ACS-30"),
        ("顶尖电子", "PS1X"),
        ("梅特勒-托利多（常州）", "bPlus-U"),
        ("上海友声衡器", "TCS-150"),
    ),
    "fuel_dispenser": (
        ("正星科技", "ZX-4122"),
        ("托肯恒山", "TH-2244"),
        ("稳牌石油设备", "WP-3"),
        ("吉尔巴克（上海）", "GB-Encore"),
    ),
    "sphygmomanometer": (("江苏鱼跃医疗", "XJ11D"), ("上海医疗器械厂", "台式水银血压计"), ("上海康华医疗", "KH-150")),
    "water_meter": (("宁波水表", "LXS-15E"), ("三川智慧", "LXSG-20"), ("上海埃美柯水表", "LXS-15C")),
    "gas_meter": (("浙江金卡", "G2.5"), ("重庆前卫", "G4"), ("成都秦川", "G1.6")),
    "taximeter": (("上海飞田通信", "FT-T9"), ("深圳华大电子", "HD-J11")),
    "ev_charger": (("许继电气", "XJ-AC7"), ("南京能瑞", "NR-DC60"), ("上海挚达", "ZD-AC7")),
    "gas_detector": (("汉威科技", "BS01"), ("上海仪电", "GT-2000")),
}


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def short_district(name_zh: str) -> str:
    """徐汇区 → 徐汇, 浦东新区 → 浦东."""
    for suffix in ("新区", "区"):
        if name_zh.endswith(suffix):
            return name_zh[: -len(suffix)]
    return name_zh


def organisation_code(body8: str) -> str:
    """GB 11714 organisation code: 8 digits and a check character (weights 3 7 9 10 5 8 4 2, mod 11)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    c = 11 - sum(int(ch) * w for ch, w in zip(body8, weights, strict=True)) % 11
    return body8 + {10: "X", 11: "0"}.get(c, str(c))
