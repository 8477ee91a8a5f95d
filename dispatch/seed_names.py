"""The demo hospital's names in Chinese: every ward, place, asset, trade, licence type, part, emergency plan,
maintenance schedule (title and checklist) and breach cause the seed creates, given its `_zh` name, so
`DEFAULT_LOCALE=zh_CN make run` shows a Chinese hospital."""
from __future__ import annotations

from models import (
    Asset, BreachCause, Building, LicenceType, Location, MaintenanceSchedule, Part, Site,
    TicketChecklistItem, Trade, Ward, db,
)

CHINESE = {
    # Site, buildings, wards, rooms
    "Main campus": "主院区",
    "Inpatient Tower (A)": "住院楼（A栋）", "Surgical Block (B)": "外科楼（B栋）",
    "Emergency & Outpatients (C)": "急诊门诊楼（C栋）",
    "Intensive Care Unit": "重症监护室", "Theatres": "手术室", "Emergency Department": "急诊科",
    "Isolation Ward 5": "隔离病区5", "Ward 3 Medical": "内科3病区", "Ward 7 Surgical": "外科7病区",
    "Paediatrics": "儿科", "Maternity": "产科", "Outpatients": "门诊部", "Ward 7": "外科7病区",
    "ICU": "重症监护室",
    "Bay 1": "1号病房区", "Bay 2": "2号病房区", "Side room": "单间", "Sluice": "污物间", "Nurses' station": "护士站",
    # Assets (the seed names them "<kind>, <ward>")
    "AC unit": "空调机组", "Distribution board": "配电箱", "Medical gas outlet panel": "医用气体终端面板",
    "Bed lift": "病床电梯",
    # Trades and licence types
    "Power": "电力", "Water": "给排水", "Oxygen / medical gas": "氧气 / 医用气体", "Lift": "电梯",
    "Air conditioning & ventilation": "空调与通风", "Other": "其他",
    "Low-voltage electrician (特种作业操作证 低压电工)": "低压电工（特种作业操作证）",
    "High-voltage electrician (特种作业操作证 高压电工)": "高压电工（特种作业操作证）",
    "Plumbing qualification": "给排水资格证",
    "Boiler operator (特种设备 锅炉)": "锅炉作业人员（特种设备）",
    "Pressure vessel / cylinder filling (特种设备 压力容器)": "压力容器 / 气瓶充装（特种设备）",
    "Lift engineer (特种设备 电梯)": "电梯作业人员（特种设备）",
    "Refrigeration & air conditioning (特种作业操作证 制冷与空调作业)": "制冷与空调作业（特种作业操作证）",
    # Parts
    "Fuse 10A (BS1362)": "保险丝 10A（BS1362）", "MCB 16A type C": "微型断路器 16A C型", "RCD 30mA 40A": "漏电保护器 30mA 40A",
    "Twin socket outlet 13A": "双联插座 13A", "LED tube 1200mm": "LED 灯管 1200mm", "Tap washer 1/2in": "水龙头垫圈 1/2英寸",
    "Ball valve 22mm": "球阀 22mm", "Pipe coupling 15mm": "管接头 15mm", "Oxygen outlet seal kit": "氧气终端密封件套装",
    "Pressure sensor (MGPS)": "压力传感器（医用气体系统）", "Lift door sensor": "电梯门传感器", "Lift door roller": "电梯门滚轮",
    "AC filter 600x600": "空调过滤网 600x600", "Fan belt A-38": "风机皮带 A-38", "Refrigerant R410A": "制冷剂 R410A",
    "Mortice door lock": "插芯门锁",
    # Emergency plans
    "ICU power loss": "重症监护室停电", "Medical oxygen low-pressure alarm": "医用氧气低压报警",
    "Person trapped in lift": "电梯困人", "Theatre air conditioning failure": "手术室空调故障",
    "Water loss to a clinical area": "临床区域停水",
    # Breach causes (models.breach.DEFAULT_BREACH_CAUSES)
    "No licensed technician available": "没有持证技术员可派",
    "Technician busy on a higher-priority job": "技术员正在处理更高优先级的工作",
    "SMS not delivered or not seen": "短信未送达或未被看到",
    "Parts not in stock": "备件缺货",
    "Specialist contractor needed": "需要专业承包商",
    "No access: clinical activity or infection control": "无法进入：临床活动或感染控制",
    "Reported with the wrong trade or place": "报修的工种或地点有误",
    "Priority set too low at reporting": "报修时优先级定得太低",
    "Other (say what in the note)": "其他（请在备注中说明）",
    # Maintenance schedules: the job (titles are "<job>, <place>")
    "Monthly lift inspection": "电梯月度检查", "Weekly medical gas alarm test": "医用气体报警每周测试",
    "Quarterly AC filter change": "空调过滤网季度更换", "Fortnightly ventilation check": "通风每两周检查",
    "Monthly emergency lighting test": "应急照明月度测试", "Six-monthly UPS battery test": "UPS 电池半年测试",
    "Weekly flushing of little-used outlets": "少用出水口每周冲洗",
    "Monthly thermostatic mixing valve check": "恒温混水阀月度检查",
    "Annual electrical inspection": "年度电气检查",
    "bed lift A1": "病床电梯 A1", "bed lift A2": "病床电梯 A2",
    # Checklist steps
    "Check landing and car door locks": "检查层门和轿门门锁", "Test the alarm and intercom": "测试警铃和对讲",
    "Check levelling at each floor": "检查各层平层", "Inspect ropes and sheaves": "检查钢丝绳和绳轮",
    "Record in the lift log book": "记入电梯日志",
    "Test the area alarm panel (high and low pressure)": "测试区域报警面板（高压和低压）",
    "Read line pressures (O2, air, vacuum)": "读取管道压力（氧气、空气、负压）",
    "Check the zone valve box seals": "检查区域阀箱封条", "Record readings": "记录读数",
    "Isolate the unit": "隔离机组", "Replace the filters": "更换过滤网", "Clean the drip tray and drain": "清洁接水盘和排水",
    "Check the supply temperature": "检查送风温度",
    "Visual inspection of the distribution board": "目视检查配电箱", "Thermal scan under load": "带载红外热成像",
    "Test RCD trip times": "测试漏电保护器动作时间", "Insulation resistance tests": "绝缘电阻测试",
    "Update the circuit chart": "更新回路图",
    "Switch to emergency test mode": "切换到应急测试模式", "Check every fitting lights": "检查每个灯具是否点亮",
    "Note failed fittings": "记录故障灯具", "Restore mains": "恢复市电",
    "Run each little-used outlet for 2 minutes": "每个少用出水口放水 2 分钟", "Record hot and cold temperatures": "记录冷热水温度",
    "Sign the flushing log": "在冲洗记录上签名",
    "Check room pressure differential": "检查房间压差", "Check the air change indicator": "检查换气次数指示",
    "Inspect door seals": "检查门密封条",
    "Check battery cabinet temperature": "检查电池柜温度", "Run a 10-minute discharge test": "进行 10 分钟放电测试",
    "Record cell voltages": "记录单体电压",
    "Check the outlet temperature (max 43 °C)": "检查出水温度（最高 43 °C）", "Fail-safe test (isolate cold)": "失效保护测试（关断冷水）",
    "Clean the strainer": "清洁过滤器",
}


def in_chinese(english: str) -> str | None:
    """A seeded name in Chinese; "<thing>, <place>" and "<kind> <number>" are put together from their parts."""
    if english in CHINESE:
        return CHINESE[english]
    if ", " in english:
        thing, place = english.rsplit(", ", 1)
        if thing in CHINESE and place in CHINESE:
            return f"{CHINESE[place]}{CHINESE[thing]}" if thing in ("AC unit", "Distribution board",
                                                                     "Medical gas outlet panel") \
                else f"{CHINESE[thing]}，{CHINESE[place]}"
    kind, _, number = english.rpartition(" ")
    if kind in CHINESE and number:
        return f"{CHINESE[kind]} {number}"
    return None


def add_chinese_names() -> None:
    """Give every seeded name its Chinese one (the caller commits). Emergency plans are named as they are
    published (a published version never changes)."""
    for model in (Site, Building, Ward, Location, Asset, Trade, LicenceType, Part, BreachCause,
                  MaintenanceSchedule, TicketChecklistItem):
        field = model.bilingual_field
        for row in db.session.query(model):
            setattr(row, f"{field}_zh", in_chinese(getattr(row, field)))
    for schedule in db.session.query(MaintenanceSchedule):
        schedule.checklist_zh = [in_chinese(step) or "" for step in schedule.checklist or []]
