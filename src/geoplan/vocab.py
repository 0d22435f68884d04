"""Place names that an English page shows romanised: the city and its districts and counties.

A report and its gazetteer are Chinese; an English reader still needs to find 万柏林区 on a signpost or in
another map. Only names in the table are romanised (standard Hanyu Pinyin, as the districts' own English
pages write them); any other name stays in Chinese rather than being guessed.
"""

from __future__ import annotations

# 太原市 and its ten 区/县/县级市 (geodata/boundaries/taiyuan.geojson).
ADMIN_EN: dict[str, str] = {
    "太原市": "Taiyuan",
    "小店区": "Xiaodian District",
    "迎泽区": "Yingze District",
    "杏花岭区": "Xinghualing District",
    "尖草坪区": "Jiancaoping District",
    "万柏林区": "Wanbailin District",
    "晋源区": "Jinyuan District",
    "清徐县": "Qingxu County",
    "阳曲县": "Yangqu County",
    "娄烦县": "Loufan County",
    "古交市": "Gujiao City",
}


def admin_name(name: str | None, lang: str) -> str:
    """``name`` as a reader of ``lang`` finds it on a map: romanised when known, else unchanged; "" for none.

    >>> admin_name("万柏林区", "en"), admin_name("万柏林区", "zh"), admin_name(None, "en")
    ('Wanbailin District', '万柏林区', '')
    """
    if not isinstance(name, str) or not name:
        return ""
    return ADMIN_EN.get(name, name) if lang == "en" else name
