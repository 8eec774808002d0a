"""What the bot says: short sentences in plain words, one idea each (many readers are elderly)."""

from __future__ import annotations

from catalog.model import CaseType, Catalog, Fee, Service

FEE = {Fee.FREE: "免费", Fee.SUBSIDIZED: "政府补贴（个人少量付费）", Fee.PAID: "收费"}

STATUS = {
    "submitted": "已提交，等待分派",
    "assigned": "已分派给部门，等待受理",
    "accepted": "部门已受理，正在处理",
    "resolved": "已办结，等待您评价",
    "closed": "已完成",
    "returned": "退回联动中心重新分派",
    "reopened": "重新办理中（督办）",
    "cancelled": "已取消",
    "duplicate": "与已报事项重复，已合并",
}

SLOT_QUESTIONS = {
    "address": "请问在哪里？请告诉我地址，比如：东坡路社区 3幢2单元。",
    "phone": "请问联系电话是多少？",
    "time": "您希望什么时间？",
    "person": "请问是给谁办的？",
    "age": "请问老人（当事人）多大年纪？",
    "id_number": "请提供身份证号码（也可以上门时再给）。",
    "description": "请简单说说具体情况。",
    "photo": "有照片吗？可以拍一张发给我。",
}

SLOT_NAMES = {
    "address": "地址", "phone": "电话", "time": "时间", "person": "服务对象", "age": "年龄",
    "id_number": "身份证", "description": "情况说明", "photo": "照片", "grid": "网格",
}  # fmt: skip

APOLOGY = "抱歉，系统刚才出了点问题，请稍后再试，或拨打 {hotline} 热线。"
INPUT_PROBLEMS = {
    "empty": "我没有收到内容。请打字告诉我您要办什么事。",
    "blank": "我没有收到内容。请打字告诉我您要办什么事。",
    "too_long": "这条消息太长了（超过 {limit} 个字）。请简短说说要办的事。",
    "binary": "这条消息里有我看不懂的字符。请用文字重新说一遍。",
    "forged": "这个按钮已经失效了。请发 /help 看看能做什么。",
}

GREETING = (
    "您好！我是上城区“居家无忧·平安365”小助手。\n"
    "有什么需要，直接打字或发语音告诉我就行。\n"
    "先留个电话、选一下您住的社区，办事更快。也可以先跳过。"
)
HELP = (
    "我可以帮您：\n"
    "1. 预约居家服务，比如：“我妈八十多岁了，想找人上门做饭”\n"
    "2. 反映身边的问题，比如：“楼下路灯坏了”\n"
    "3. 查进度：发 /my，或者问“我报的路灯修好了吗”\n"
    "直接打字或发语音就行。发 /cancel 可以随时重来。"
)
NONE_REPLY = "这个我可能帮不上。我能办居家服务、反映问题、查进度。\n" + HELP.split("\n", 1)[1]
THANKS = "不客气！还有什么需要，随时告诉我。"
CANCELLED_DIALOGUE = "好的，已经退出。还有什么需要，直接告诉我。"
NOTHING_TO_CANCEL = "现在没有正在办的事。有需要直接告诉我。"


def hours(h: float) -> str:
    if h < 1:
        return f"{round(h * 60)} 分钟内"
    if h < 48:
        return f"{h:g} 小时内"
    return f"{h / 24:g} 天内"


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else phone


def item_card(catalog: Catalog, item: Service | CaseType) -> str:
    """The confirmation card: what it is, who handles it, what it costs, who may use it, how fast."""
    dept = catalog.departments[item.department].name
    if isinstance(item, Service):
        return (
            f"您要办的是：{item.name}\n"
            f"负责部门：{dept}\n"
            f"费用：{FEE[item.fee]}\n"
            f"服务对象：{item.eligibility}\n"
            f"预计响应：{hours(item.sla_hours)}"
        )
    return (
        f"您要反映的是：{item.name}\n"
        f"负责部门：{dept}\n"
        f"费用：免费\n"
        f"预计响应：{hours(item.response_hours)}，{hours(item.resolve_hours)}办结"
    )
