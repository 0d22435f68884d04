"""Place names that an English page shows romanised: the city and its districts and counties.

A report and its gazetteer are Chinese; an English reader still needs to find 万柏林区 on a signpost or in
another map. Only names in the table are romanised (standard Hanyu Pinyin, as the districts' own English
pages write them); any other name stays in Chinese rather than being guessed.
"""

from __future__ import annotations

import re

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


# English glosses of the words work reports name their domains (关键词 blocks, chapters) with. A gloss is shown
# beside the Chinese name, never instead of it: the report's own word is what a resident finds in the text.
# Only whole names (or the report's fixed chapter forms below) are glossed; any other name stays Chinese.
DOMAIN_EN: dict[str, str] = {
    "主要预期目标": "Main targets",
    "预期目标": "Targets",
    "消费": "Consumption",
    "扩大内需": "Domestic demand",
    "内需": "Domestic demand",
    "投资": "Investment",
    "项目建设": "Projects",
    "招商引资": "Attracting investment",
    "城乡融合发展": "Urban-rural integration",
    "城乡融合": "Urban-rural integration",
    "区域协调发展": "Coordinated regional development",
    "乡村振兴": "Rural revitalisation",
    "农业农村": "Agriculture and rural areas",
    "城市更新": "Urban renewal",
    "城市建设": "Urban construction",
    "城市治理": "Urban governance",
    "基础设施": "Infrastructure",
    "交通": "Transport",
    "环境": "Environment",
    "生态": "Ecology",
    "生态环境": "Ecological environment",
    "生态文明": "Ecological civilisation",
    "生态保护": "Ecological protection",
    "绿色发展": "Green development",
    "绿色转型": "Green transition",
    "能源": "Energy",
    "能源革命": "Energy revolution",
    "民生": "People's wellbeing",
    "民生保障": "People's wellbeing",
    "社会保障": "Social security",
    "就业": "Employment",
    "教育": "Education",
    "医疗": "Health care",
    "卫生健康": "Health",
    "养老": "Elderly care",
    "住房": "Housing",
    "文化": "Culture",
    "文旅": "Culture and tourism",
    "文化旅游": "Culture and tourism",
    "旅游": "Tourism",
    "体育": "Sports",
    "科技创新": "Science and technology innovation",
    "创新": "Innovation",
    "人才": "Talent",
    "产业": "Industry",
    "产业转型": "Industrial transformation",
    "制造业": "Manufacturing",
    "数字经济": "Digital economy",
    "新质生产力": "New quality productive forces",
    "民营经济": "Private economy",
    "改革": "Reform",
    "开放": "Opening up",
    "改革开放": "Reform and opening up",
    "营商环境": "Business environment",
    "安全": "Safety and security",
    "安全发展": "Safe development",
    "社会治理": "Social governance",
    "政府自身建设": "The government's own conduct",
    "全面加强政府自身建设": "Strengthening the government's own conduct",
    "工作回顾": "Review of work",
    "重点工作": "Main tasks",
    "工作安排": "Work plan",
    "工作任务": "Tasks",
    "主要任务": "Main tasks",
    "发展成就": "Achievements",
    "主要目标任务": "Main goals and tasks",
    "目标任务": "Goals and tasks",
    "总体要求和目标任务": "General requirements, goals and tasks",
}
_FIVE_YEAR = {"一": "11th", "二": "12th", "三": "13th", "四": "14th", "五": "15th", "六": "16th", "七": "17th"}
_YEAR_RE = re.compile(r"(\d{4})年(?:政府)?(.+)")
_PLAN_RE = re.compile(r"[“\"]?十([一二三四五六七])五[”\"]?(?:时期|规划期间?)?(.+)")


def domain_gloss(name: str | None) -> str | None:
    """An English gloss of a domain's name when the vocabulary knows it, else ``None`` (nothing guessed).

    A chapter's name is a fixed form around a known word: a year (2026年重点工作), a five-year plan period
    (“十四五”时期工作回顾), or two such joined by 和.

    >>> domain_gloss("环境"), domain_gloss("2026年重点工作"), domain_gloss("打好品质提升攻坚战")
    ('Environment', '2026: Main tasks', None)
    >>> domain_gloss("“十四五”时期发展成就和“十五五”时期主要目标任务")
    '14th Five-Year Plan period: Achievements; 15th Five-Year Plan period: Main goals and tasks'
    """
    if not isinstance(name, str) or not name.strip():
        return None
    name = name.strip()
    if name in DOMAIN_EN:
        return DOMAIN_EN[name]
    if (m := _YEAR_RE.fullmatch(name)) and m[2] in DOMAIN_EN:
        return f"{m[1]}: {DOMAIN_EN[m[2]]}"
    if (m := _PLAN_RE.fullmatch(name)) and m[2] in DOMAIN_EN:
        return f"{_FIVE_YEAR[m[1]]} Five-Year Plan period: {DOMAIN_EN[m[2]]}"
    for k in range(1, len(name) - 1):  # 甲和乙: both halves glossed, or no gloss
        if name[k] == "和":
            left, right = domain_gloss(name[:k]), domain_gloss(name[k + 1 :])
            if left and right:
                return f"{left}; {right}"
    return None


def domain_name(name: str | None, lang: str) -> str:
    """A domain's name for a reader of ``lang``: the report's own word, with its English gloss in English.

    >>> domain_name("民生", "en"), domain_name("民生", "zh"), domain_name("打好品质提升攻坚战", "en")
    ("民生 · People's wellbeing", '民生', '打好品质提升攻坚战')
    """
    if not isinstance(name, str) or not name:
        return ""
    gloss = domain_gloss(name) if lang == "en" else None
    return f"{name} · {gloss}" if gloss else name
