"""Demo data for the ``idp demo`` command.

A realistic (but fictional) directory for a district-level jurisdiction
modelled on Shanghai's Qingpu district (上海市青浦区): the organisation tree,
name material for generating people, attribute vocabularies, district
leaders and tags. Everything here is plain data; the small private helpers
below only expand compact specs into node dicts when the module is imported.

Node dict keys: "name" (full official name), "short_name" (normalised short
name), "code" (unique ASCII code; children extend the parent's code), "type",
"is_unit", optional "hidden", and "children".
"""

from __future__ import annotations

from typing import Any

Node = dict[str, Any]

ROOT: dict = {
    "name": "上海市青浦区",
    "short_name": "青浦区",
    "code": "QP",
    "type": "jurisdiction",
    "is_unit": True,
}


# ---------------------------------------------------------------------------
# Compact spec helpers
#
# An internal-body spec is (short_name, code) or (short_name, code, opts) where
# opts may contain "hidden": True, "teams": [specs...] (level-4 bodies),
# "type": "subordinate" (an affiliated public institution, which is a unit of
# its own) and "name" (an explicit full name).
# ---------------------------------------------------------------------------

def _body(prefix: str, parent_code: str, spec: tuple) -> Node:
    short, code = spec[0], spec[1]
    opts: dict = spec[2] if len(spec) > 2 else {}
    node_type = opts.get("type", "internal")
    node: Node = {
        "name": opts.get("name", f"{prefix}{short}"),
        "short_name": short,
        "code": f"{parent_code}-{code}",
        "type": node_type,
        "is_unit": node_type == "subordinate",
    }
    if opts.get("hidden"):
        node["hidden"] = True
    node["children"] = [_body(node["name"], node["code"], t) for t in opts.get("teams", ())]
    return node


def _unit(name: str, short: str, code: str, bodies: list, node_type: str = "department",
          grassroots: list | None = None) -> Node:
    children = [_body(name, code, b) for b in bodies]
    children += grassroots or []
    return {"name": name, "short_name": short, "code": code, "type": node_type,
            "is_unit": True, "children": children}


def _cat(name: str, short: str, code: str, children: list) -> Node:
    return {"name": name, "short_name": short, "code": code, "type": "category",
            "is_unit": False, "children": children}


def _grassroots(area: str, parent_code: str, specs: list) -> list:
    """Villages ("xx村") and residential committees ("xx居委会")."""
    out = []
    for short, code in specs:
        if short.endswith("居委会"):
            name, node_type = f"{area}{short[:-3]}居民委员会", "residential"
        else:
            name, node_type = f"{area}{short}村民委员会", "village"
        out.append({"name": name, "short_name": short, "code": f"{parent_code}-{code}",
                    "type": node_type, "is_unit": False, "children": []})
    return out


_STREET_BODIES = [("党政办公室", "DZB"), ("社区党建办公室", "DJB"), ("社区管理办公室", "GLB"),
                  ("社区平安办公室", "PAB"), ("社区事务受理服务中心", "SWZX")]
_TOWN_BODIES = [("党政办公室", "DZB"), ("经济发展办公室", "JJB"), ("社区管理办公室", "GLB"),
                ("平安办", "PAB"), ("社区事务受理服务中心", "SWZX")]


def _area(short: str, code: str, node_type: str, grassroots: list, extra: tuple = ()) -> Node:
    full = f"上海市青浦区{short}"
    bodies = (_STREET_BODIES if node_type == "street" else _TOWN_BODIES) + list(extra)
    return _unit(full, short, code, bodies, node_type, _grassroots(short, code, grassroots))


_P = "上海市青浦区"  # common prefix of official names

# ---------------------------------------------------------------------------
# Organisation tree: ten level-1 categories
# ---------------------------------------------------------------------------

CATEGORIES: list[dict] = [
    _cat("中共上海市青浦区委员会", "区委", "QP-QW", [
        _unit("中共上海市青浦区委办公室", "区委办公室", "QP-QW-BGS", [
            ("秘书科", "MSK"), ("综合科", "ZHK"), ("督查科", "DCK"), ("机要科", "JYK"), ("信息科", "XXK")]),
        _unit("中共上海市青浦区委组织部", "区委组织部", "QP-QW-ZZB", [
            ("办公室", "BGS"), ("组织科", "ZZK"),
            ("干部科", "GBK", {"teams": [("一组", "YZ"), ("二组", "EZ")]}),
            ("干部监督科", "GBJDK", {"hidden": True}),
            ("公务员管理科", "GWYK"), ("人才工作科", "RCK")]),
        _unit("中共上海市青浦区委宣传部", "区委宣传部", "QP-QW-XCB", [
            ("办公室", "BGS"), ("理论科", "LLK"), ("宣传科", "XCK"), ("新闻科", "XWK"), ("文明创建科", "WMK")]),
        _unit("中共上海市青浦区委统一战线工作部", "区委统战部", "QP-QW-TZB", [
            ("办公室", "BGS"), ("党派科", "DPK"), ("民族宗教科", "MZZJK"), ("经济联络科", "JJLLK")]),
        _unit("中共上海市青浦区委政法委员会", "区委政法委", "QP-QW-ZFW", [
            ("办公室", "BGS"), ("综治科", "ZZK"), ("执法监督科", "ZFJDK"), ("维稳科", "WWK")]),
        _unit("中共上海市青浦区委网络安全和信息化委员会办公室", "区委网信办", "QP-QW-WXB", [
            ("综合科", "ZHK"), ("网络安全科", "WLAQK"), ("网络舆情科", "WLYQK")]),
    ]),
    _cat("上海市青浦区人民代表大会常务委员会", "区人大", "QP-RD", [
        _unit("上海市青浦区人大常委会办公室", "区人大常委会办公室", "QP-RD-BGS", [
            ("秘书科", "MSK"), ("代表联络室", "DBLLS"), ("研究室", "YJS"), ("人事科", "RSK"), ("财务科", "CWK")]),
    ]),
    _cat("上海市青浦区人民政府", "区政府", "QP-ZF", [
        _unit(f"{_P}人民政府办公室", "区政府办公室", "QP-ZF-BGS", [
            ("秘书科", "MSK"), ("综合科", "ZHK"), ("督查科", "DCK"), ("政务公开科", "ZWGKK"), ("法制科", "FZK")]),
        _unit(f"{_P}发展和改革委员会", "区发展改革委", "QP-ZF-FGW", [
            ("办公室", "BGS"), ("综合规划科", "ZHGHK"), ("投资科", "TZK"), ("价格科", "JGK"), ("社会发展科", "SHFZK")]),
        _unit(f"{_P}教育局", "区教育局", "QP-ZF-JYJ", [
            ("办公室", "BGS"), ("组织人事科", "ZZRSK"),
            ("基础教育科", "JCJYK", {"teams": [("学前教育组", "XQZ"), ("义务教育组", "YWZ"), ("高中教育组", "GZZ")]}),
            ("职业教育与社会教育科", "ZJSJK"), ("财务科", "CWK"), ("政策法规科", "ZCFGK")]),
        _unit(f"{_P}科学技术委员会", "区科委", "QP-ZF-KW", [
            ("办公室", "BGS"), ("科技计划科", "KJJHK"), ("高新技术产业科", "GXJSK"), ("科技人才科", "KJRCK")]),
        _unit(f"{_P}经济委员会", "区经委", "QP-ZF-JW", [
            ("办公室", "BGS"), ("产业发展科", "CYFZK"), ("信息化推进科", "XXHK"), ("能源管理科", "NYGLK"),
            ("企业服务科", "QYFWK")]),
        _unit("上海市公安局青浦分局", "区公安分局", "QP-ZF-GAFJ", [
            ("指挥处", "ZHC"), ("政治处", "ZZC"),
            ("治安管理支队", "ZAZD", {"teams": [("一组", "YZ"), ("二组", "EZ")]}),
            ("刑事侦查支队", "XZZD"), ("交通警察支队", "JJZD"), ("出入境管理办公室", "CRJB")]),
        _unit(f"{_P}民政局", "区民政局", "QP-ZF-MZJ", [
            ("办公室", "BGS"), ("社会救助科", "SHJZK"), ("养老服务科", "YLFWK"),
            ("基层政权和社区建设科", "JCZQK"), ("社会组织管理科", "SHZZK")]),
        _unit(f"{_P}司法局", "区司法局", "QP-ZF-SFJ", [
            ("办公室", "BGS"), ("普法与依法治理科", "PFZLK"), ("人民参与和促进法治科", "RMCYK"),
            ("公共法律服务管理科", "GGFLK")]),
        _unit(f"{_P}财政局", "区财政局", "QP-ZF-CZJ", [
            ("办公室", "BGS"), ("预算科", "YSK"), ("国库科", "GKK"), ("政府采购管理科", "ZFCGK"), ("会计管理科", "KJGLK")]),
        _unit(f"{_P}人力资源和社会保障局", "区人力资源社会保障局", "QP-ZF-RSJ", [
            ("办公室", "BGS"), ("就业促进科", "JYCJK"), ("劳动关系科", "LDGXK"), ("公务员管理科", "GWYGLK"),
            ("社会保险科", "SHBXK")]),
        _unit(f"{_P}规划和自然资源局", "区规划资源局", "QP-ZF-GHZYJ", [
            ("办公室", "BGS"), ("总体规划科", "ZTGHK"), ("详细规划科", "XXGHK"), ("土地利用科", "TDLYK"),
            ("执法监察科", "ZFJCK")]),
        _unit(f"{_P}生态环境局", "区生态环境局", "QP-ZF-STHJJ", [
            ("办公室", "BGS"), ("环境影响评价科", "HPK"), ("大气和水环境科", "DQSHJK"), ("生态环境执法大队", "ZFDD")]),
        _unit(f"{_P}建设和管理委员会", "区建设管理委", "QP-ZF-JSW", [
            ("办公室", "BGS"), ("建筑业管理科", "JZYK"), ("房屋管理科", "FWGLK"), ("市容环境卫生科", "SRHWK"),
            ("安全质量监督科", "AQZLK")]),
        _unit(f"{_P}交通委员会", "区交通委", "QP-ZF-JTW", [
            ("办公室", "BGS"), ("道路运输管理科", "DLYSK"), ("公路管理科", "GLGLK"), ("综合交通规划科", "ZHJTK")]),
        _unit(f"{_P}农业农村委员会", "区农业农村委", "QP-ZF-NYW", [
            ("办公室", "BGS"), ("农村经营管理科", "NCJYK"), ("种植业科", "ZZYK"), ("乡村振兴科", "XCZXK"),
            ("农业综合执法大队", "NYZFDD")]),
        _unit(f"{_P}水务局", "区水务局", "QP-ZF-SWJ", [
            ("办公室", "BGS"), ("防汛防台办公室", "FXFTB"), ("河长制工作科", "HZZK"), ("供排水管理科", "GPSK")]),
        _unit(f"{_P}商务委员会", "区商务委", "QP-ZF-SWW", [
            ("办公室", "BGS"), ("商贸流通科", "SMLTK"), ("对外经贸科", "DWJMK"), ("会展服务科", "HZFWK")]),
        _unit(f"{_P}文化和旅游局", "区文化旅游局", "QP-ZF-WLJ", [
            ("办公室", "BGS"), ("文化艺术科", "WHYSK"), ("文物保护科", "WWBHK"), ("旅游发展科", "LYFZK"),
            ("文化市场行政执法大队", "WHZFDD")]),
        _unit(f"{_P}卫生健康委员会", "区卫生健康委", "QP-ZF-WJW", [
            ("办公室", "BGS"), ("组织人事科", "ZZRSK"), ("医政医管科", "YZYGK"), ("疾病预防控制科", "JBYFK"),
            ("基层卫生科", "JCWSK"),
            ("区疾病预防控制中心", "CDC", {"type": "subordinate", "name": f"{_P}疾病预防控制中心"})]),
        _unit(f"{_P}退役军人事务局", "区退役军人局", "QP-ZF-TYJRJ", [
            ("办公室", "BGS"), ("思想政治和权益维护科", "QYWHK"), ("就业创业科", "JYCYK"), ("优抚褒扬科", "YFBYK")]),
        _unit(f"{_P}应急管理局", "区应急局", "QP-ZF-YJJ", [
            ("办公室", "BGS"), ("应急指挥科", "YJZHK"), ("安全生产综合监管科", "AQSCK"),
            ("危险化学品监管科", "WHPK"), ("防灾减灾科", "FZJZK")]),
        _unit(f"{_P}审计局", "区审计局", "QP-ZF-SJJ", [
            ("办公室", "BGS"), ("财政审计科", "CZSJK"), ("经济责任审计科", "JZSJK"), ("固定资产投资审计科", "GTSJK")]),
        _unit(f"{_P}国有资产监督管理委员会", "区国资委", "QP-ZF-GZW", [
            ("办公室", "BGS"), ("企业改革科", "QYGGK"), ("产权管理科", "CQGLK"), ("财务监督科", "CWJDK")]),
        _unit(f"{_P}市场监督管理局", "区市场监管局", "QP-ZF-SCJGJ", [
            ("办公室", "BGS"), ("登记注册科", "DJZCK"), ("食品安全协调科", "SPAQK"), ("价格监督检查科", "JGJDK"),
            ("特种设备安全监察科", "TSAJK"), ("执法稽查支队", "ZFJCZD")]),
        _unit(f"{_P}医疗保障局", "区医保局", "QP-ZF-YBJ", [
            ("办公室", "BGS"), ("医保待遇科", "YBDYK"), ("基金监管科", "JJJGK"), ("医药服务管理科", "YYFWK")]),
        _unit(f"{_P}政务服务办公室", "区政务服务办", "QP-ZF-ZWB", [
            ("综合科", "ZHK"), ("政务服务科", "ZWFWK"), ("一网通办推进科", "YWTBK"),
            ("区行政服务中心", "XZFWZX", {"type": "subordinate", "name": f"{_P}行政服务中心"})]),
    ]),
    _cat("中国人民政治协商会议上海市青浦区委员会", "区政协", "QP-ZX", [
        _unit("政协上海市青浦区委员会办公室", "区政协办公室", "QP-ZX-BGS", [
            ("秘书科", "MSK"), ("提案委员会办公室", "TAB"), ("联络科", "LLK"), ("研究室", "YJS")]),
    ]),
    _cat("中共上海市青浦区纪律检查委员会、上海市青浦区监察委员会", "纪委监委", "QP-JW", [
        _unit("中共上海市青浦区纪委、上海市青浦区监委机关", "区纪委监委机关", "QP-JW-JG", [
            ("办公室", "BGS"), ("组织部", "ZZB"), ("宣传部", "XCB"), ("党风政风监督室", "DFZFS"),
            ("第一监督检查室", "JDJCS1"), ("案件审理室", "AJSLS")]),
    ]),
    _cat("青浦区群团组织", "群团", "QP-QT", [
        _unit(f"{_P}总工会", "区总工会", "QP-QT-ZGH", [
            ("办公室", "BGS"), ("组织部", "ZZB"), ("权益保障部", "QYBZB"), ("经费审查委员会办公室", "JSB")]),
        _unit("共青团上海市青浦区委员会", "团区委", "QP-QT-TQW", [
            ("办公室", "BGS"), ("组织部", "ZZB"), ("宣传部", "XCB"), ("青年发展部", "QNFZB")]),
        _unit(f"{_P}妇女联合会", "区妇联", "QP-QT-FL", [
            ("办公室", "BGS"), ("组织联络部", "ZZLLB"), ("权益部", "QYB"), ("家庭和儿童工作部", "JTETB")]),
        _unit(f"{_P}残疾人联合会", "区残联", "QP-QT-CL", [
            ("办公室", "BGS"), ("康复部", "KFB"), ("就业服务部", "JYFWB")]),
    ]),
    _cat("青浦区审判检察机关", "两院", "QP-LY", [
        _unit(f"{_P}人民法院", "区人民法院", "QP-LY-FY", [
            ("办公室", "BGS"), ("政治部", "ZZB"), ("立案庭", "LAT"), ("刑事审判庭", "XSSPT"), ("民事审判庭", "MSSPT"),
            ("执行局", "ZXJ")]),
        _unit(f"{_P}人民检察院", "区人民检察院", "QP-LY-JCY", [
            ("办公室", "BGS"), ("政治部", "ZZB"), ("第一检察部", "JCB1"), ("第二检察部", "JCB2"),
            ("第三检察部", "JCB3")]),
    ]),
    _cat("青浦区人民武装工作", "人武部", "QP-RWB", [
        _unit(f"{_P}人民武装部", "区人武部", "QP-RWB-RWB", [
            ("政治工作科", "ZZGZK"), ("军事科", "JSK"), ("保障科", "BZK")]),
    ]),
    _cat("青浦区街道和镇", "镇街道", "QP-ZJD", [
        _area("夏阳街道", "QP-ZJD-XY", "street", [
            ("青湖居委会", "QHJW"), ("城北居委会", "CBJW"), ("青平居委会", "QPJW"), ("塔湾村", "TWC")]),
        _area("盈浦街道", "QP-ZJD-YP", "street", [
            ("庆华居委会", "QHJW"), ("南门居委会", "NMJW"), ("东门居委会", "DMJW"), ("三元河居委会", "SYHJW")]),
        _area("香花桥街道", "QP-ZJD-XHQ", "street", [
            ("金星村", "JXC"), ("东方村", "DFC"), ("天一村", "TYC"), ("民惠居委会", "MHJW")]),
        _area("朱家角镇", "QP-ZJD-ZJJ", "town", [
            ("张马村", "ZMC"), ("沈巷村", "SXC"), ("林家村", "LJC"), ("新溪居委会", "XXJW"), ("珠溪居委会", "ZXJW")],
            (("旅游发展办公室", "LYB"),)),
        _area("练塘镇", "QP-ZJD-LT", "town", [
            ("东庄村", "DZC"), ("徐练村", "XLC"), ("泖甸村", "MDC"), ("朱庄村", "ZZC")],
            (("农业农村办公室", "NYB"),)),
        _area("金泽镇", "QP-ZJD-JZ", "town", [
            ("蔡浜村", "CAIBC"), ("东西村", "DXC"), ("岑卜村", "CENBC"), ("雪米村", "XMC"), ("任屯村", "RTC")],
            (("农业农村办公室", "NYB"),)),
        _area("赵巷镇", "QP-ZJD-ZX", "town", [
            ("方夏村", "FXC"), ("中步村", "ZBC"), ("和睦村", "HMC"), ("崧泽村", "SZC")]),
        _area("徐泾镇", "QP-ZJD-XJ", "town", [
            ("蟠龙村", "PLC"), ("金云村", "JYC"), ("前明村", "QMC"), ("二联村", "ELC")],
            (("规划建设和环境保护办公室", "GHB"),)),
        _area("华新镇", "QP-ZJD-HX", "town", [
            ("凤溪村", "FXC"), ("杨家庄村", "YJZC"), ("陆象村", "LXC"), ("淮海村", "HHC")],
            (("规划建设和环境保护办公室", "GHB"),)),
        _area("重固镇", "QP-ZJD-CG", "town", [
            ("章堰村", "ZYC"), ("毛家角村", "MJJC"), ("新丰村", "XFC"), ("徐姚村", "XYC")]),
        _area("白鹤镇", "QP-ZJD-BH", "town", [
            ("万狮村", "WSC"), ("新江村", "XJC"), ("塘湾村", "TWC"), ("青龙村", "QLC"), ("赵屯村", "ZTC")]),
    ]),
    _cat("青浦区区属国有企业", "区属企业", "QP-QY", [
        _unit("上海青浦城市投资发展集团有限公司", "青浦城投集团", "QP-QY-CTJT", [
            ("办公室", "BGS"), ("党群工作部", "DQGZB"), ("投资发展部", "TZFZB"), ("财务管理部", "CWGLB"),
            ("工程管理部", "GCGLB")], "enterprise"),
        _unit("上海青浦新城发展（集团）有限公司", "青浦新城发展集团", "QP-QY-XCFZ", [
            ("综合办公室", "ZHBGS"), ("投资部", "TZB"), ("招商部", "ZSB"), ("财务部", "CWB")], "enterprise"),
        _unit("上海西虹桥商务开发有限公司", "西虹桥公司", "QP-QY-XHQ", [
            ("综合管理部", "ZHGLB"), ("招商服务部", "ZSFWB"), ("规划建设部", "GHJSB")], "enterprise"),
    ]),
]

# Codes of the three streets and eight towns (used by TAGS below).
_STREET_TOWN_CODES: list[str] = [n["code"] for n in CATEGORIES[8]["children"]]

# ---------------------------------------------------------------------------
# Name material
# ---------------------------------------------------------------------------

# Common surnames with rough relative weights (national frequency, with the
# Shanghai-typical 沈 陆 顾 钱 徐 朱 weighted up).
SURNAMES: list[tuple[str, int]] = [
    ("王", 700), ("李", 690), ("张", 660), ("刘", 520), ("陈", 480), ("杨", 310), ("黄", 220), ("赵", 210),
    ("吴", 210), ("周", 200), ("徐", 220), ("孙", 150), ("马", 130), ("朱", 170), ("胡", 130), ("郭", 120),
    ("何", 120), ("林", 115), ("高", 115), ("罗", 110), ("郑", 105), ("梁", 100), ("谢", 85), ("宋", 80),
    ("唐", 80), ("许", 75), ("韩", 72), ("冯", 72), ("邓", 70), ("曹", 70), ("彭", 68), ("曾", 65),
    ("肖", 64), ("田", 62), ("董", 60), ("袁", 58), ("潘", 60), ("于", 56), ("蒋", 60), ("蔡", 55),
    ("余", 54), ("杜", 52), ("叶", 55), ("程", 50), ("苏", 50), ("魏", 48), ("吕", 47), ("丁", 47),
    ("任", 45), ("沈", 90), ("姚", 45), ("卢", 42), ("姜", 42), ("崔", 40), ("钟", 40), ("谭", 38),
    ("陆", 85), ("汪", 40), ("范", 36), ("金", 40), ("石", 34), ("廖", 33), ("贾", 32), ("夏", 32),
    ("韦", 30), ("付", 30), ("方", 32), ("白", 29), ("邹", 29), ("孟", 28), ("熊", 27), ("秦", 27),
    ("邱", 26), ("江", 26), ("尹", 25), ("薛", 25), ("闫", 23), ("段", 23), ("雷", 22), ("侯", 22),
    ("龙", 21), ("史", 21), ("陶", 22), ("黎", 19), ("贺", 19), ("顾", 80), ("毛", 19), ("郝", 18),
    ("龚", 20), ("邵", 19), ("万", 17), ("钱", 50), ("严", 18), ("覃", 15), ("武", 15), ("戴", 17),
    ("莫", 14), ("孔", 14), ("向", 13), ("汤", 15),
]

# Characters for 1- or 2-character given names.
GIVEN_NAME_CHARS_MALE: str = (
    "伟强磊军勇杰涛明超斌辉刚华建国平峰鹏飞志宇浩俊文毅东海林波亮晨阳"
    "鑫凯宁健龙翔杨帆成坤博旭昊然睿哲轩锋彬晓振荣德新春立庆祥永康"
    "嘉豪煜天佳诚泽一舟瑞卫忠正青启彦铭钧"
)
GIVEN_NAME_CHARS_FEMALE: str = (
    "芳娜敏静丽艳娟霞燕玲婷雪慧颖琳晶洁莉萍红梅兰英华玉倩佳怡欣悦"
    "琪雯蕾晴璐瑶菲妍琴月清秀美丹宁薇馨涵诗韵思梦雨露蓉莹珊岚"
    "婕凤云春霖瑜芸茜蓓文晓晨楠妮嘉蕊萱婉琦佩雅珍"
)

# ---------------------------------------------------------------------------
# Attribute vocabularies
# ---------------------------------------------------------------------------

STAFFING_TYPES: list[str] = ["在编", "聘用", "外部临时"]

RANKS: list[str] = [
    "一级巡视员", "二级巡视员",
    "一级调研员", "二级调研员", "三级调研员", "四级调研员",
    "一级主任科员", "二级主任科员", "三级主任科员", "四级主任科员",
    "一级科员", "二级科员",
]

POSITION_LEVELS: list[str] = ["正局级", "副局级", "正处级", "副处级", "正科级", "副科级", "科员级", "办事员级"]

POLITICAL_STATUSES: list[str] = [
    "中共党员", "中共预备党员", "共青团员", "民革党员", "民盟盟员", "民建会员", "民进会员",
    "农工党党员", "致公党党员", "九三学社社员", "台盟盟员", "无党派人士", "群众",
]

# Leader titles for level-2 nodes (and category leaders), keyed by node type.
LEADER_TITLES: dict[str, list[str]] = {
    "category": ["书记", "副书记", "主任", "副主任", "主席", "副主席", "秘书长"],
    "department": ["党组书记", "局长", "主任", "副局长", "副主任", "党组成员", "二级巡视员"],
    "street": ["街道党工委书记", "街道办事处主任", "街道党工委副书记", "街道办事处副主任", "街道人大工委主任"],
    "town": ["镇党委书记", "镇长", "镇党委副书记", "副镇长", "镇人大主席", "镇纪委书记"],
    "enterprise": ["党委书记", "董事长", "总经理", "副总经理", "总会计师", "纪委书记"],
}

# Staff titles for level >= 3 nodes, keyed by node type.
STAFF_TITLES: dict[str, list[str]] = {
    "internal": ["科长", "副科长", "主任科员", "科员", "工作人员"],
    "subordinate": ["主任", "副主任", "科长", "工作人员"],
    "village": ["村党组织书记", "村委会主任", "村党组织副书记", "村委会委员", "村务工作者", "工作人员"],
    "residential": ["居民区党组织书记", "居委会主任", "居委会副主任", "社工", "工作人员"],
}

# District leaders (title, leadership division of work) for Q1.
DISTRICT_LEADERS: list[tuple[str, str]] = [
    ("区委书记", "主持区委全面工作"),
    ("区委副书记、区长", "主持区政府全面工作，负责审计、编制方面工作"),
    ("区委副书记", "协助区委书记处理区委日常工作，分管党建、政法、统战、群团工作"),
    ("区人大常委会主任", "主持区人大常委会全面工作"),
    ("区政协主席", "主持区政协全面工作"),
    ("区委常委、区纪委书记、区监委主任", "主持区纪委监委全面工作"),
    ("区委常委、常务副区长", "负责区政府常务工作，分管发展改革、财政、国资、统计、税务工作"),
    ("区委常委、副区长", "分管规划资源、建设管理、交通、水务、生态环境工作，联系西虹桥商务区"),
    ("副区长", "分管教育、卫生健康、医疗保障、民政、退役军人事务工作"),
    ("副区长、区公安分局局长", "分管公安、司法行政、应急管理、市场监管、信访工作"),
    ("副区长", "分管经济、科技、商务、农业农村、文化旅游工作，联系进博会服务保障"),
]

# Tags: named groups of people owned by one node and shared with others.
TAGS: list[dict] = [
    {
        "name": "防汛防台工作联络员",
        "owner_code": "QP-ZF-YJJ",
        "shared_with_codes": ["QP-ZF-SWJ", "QP-ZF-JSW", "QP-ZF-NYW", *_STREET_TOWN_CODES],
        "description": "汛期（6月至9月）各单位防汛防台值班联络人员，负责灾情信息报送和应急响应联络",
    },
    {
        "name": "信访工作联络员",
        "owner_code": "QP-ZF-BGS",
        "shared_with_codes": ["QP-ZF-MZJ", "QP-ZF-RSJ", "QP-ZF-JSW", "QP-ZF-GHZYJ", *_STREET_TOWN_CODES],
        "description": "各单位信访事项办理联络人，负责信访件转办、督办和办理结果反馈",
    },
    {
        "name": "疫情防控专班",
        "owner_code": "QP-ZF-WJW",
        "shared_with_codes": ["QP-ZF-GAFJ", "QP-ZF-SCJGJ", "QP-ZF-JYJ", "QP-ZF-SWW", "QP-ZF-JTW",
                              *_STREET_TOWN_CODES],
        "description": "区疫情防控工作专班成员，负责流调协查、重点场所防控和物资保障协调",
    },
    {
        "name": "安全生产联络员",
        "owner_code": "QP-ZF-YJJ-AQSCK",
        "shared_with_codes": ["QP-ZF-JSW", "QP-ZF-JW", "QP-ZF-SCJGJ", "QP-ZF-JTW",
                              "QP-QY-CTJT", "QP-QY-XCFZ", "QP-QY-XHQ"],
        "description": "行业主管部门和区属企业安全生产工作联络人，负责隐患排查和事故信息报送",
    },
    {
        "name": "机要通信员",
        "owner_code": "QP-QW-BGS-JYK",
        "shared_with_codes": ["QP-QW-ZZB", "QP-QW-XCB", "QP-QW-ZFW", "QP-ZF-BGS", "QP-RD-BGS",
                              "QP-ZX-BGS", "QP-JW-JG", "QP-RWB-RWB"],
        "description": "负责涉密文件交接、机要通信和密码电报收发的专职人员",
    },
    {
        "name": "党建指导员",
        "owner_code": "QP-QW-ZZB-ZZK",
        "shared_with_codes": [*_STREET_TOWN_CODES, "QP-QY-CTJT", "QP-QY-XCFZ", "QP-QY-XHQ"],
        "description": "区委组织部选派的基层党建指导员，联系指导村居、两新组织和区属企业党建工作",
    },
]
