"""What the web chat itself says when a frame cannot be used: short, plain, and what to do next."""

from __future__ import annotations

ERRORS: dict[str, str] = {
    "bad_json": "刚才的消息没有发成功，请再发一次。",
    "binary": "不能发这种内容。请打字、发照片或发语音。",
    "unknown_type": "不能发这种消息。请打字、发照片或发语音。",
    "too_big": "这条消息太大了，请分几次发送。",
    "too_long": "这条消息太长了（最多 {limit} 个字），请分几次发送。",
    "control_chars": "这条消息里有看不懂的字符，请重新输入。",
    "empty": "没有收到内容，请输入您要说的话。",
    "bad_field": "刚才的消息格式不对，请再发一次。",
    "bad_id": "刚才的消息缺少编号，请刷新页面后再发。",
    "bad_phone": "电话号码不对。请输入手机号（11 位）或座机号。",
    "bad_location": "位置不对。请重新发送位置，或直接打字告诉我地址。",
    "bad_button": "这个按钮已经失效了。请发 /help 看看能做什么。",
    "bad_ref": "没有找到刚才上传的文件，请重新选择。",
    "rate": "发得太快了，请等几秒再发。",
    "busy": "系统有点忙，请稍后再发一次。",
}

VOICE_OFF = "现在听不了语音。请打字告诉我，谢谢。"
VOICE_FAILED = "这段语音没有听清。请再说一次，或者打字告诉我。"
VOICE_TOO_LONG = "语音太长了（最长 {limit:.0f} 秒）。请说短一点，或者打字告诉我。"
VOICE_BUSY = "现在听语音的人太多，请过一会再发，或者打字告诉我。"
PHOTO_SHOWN = "（附照片）"
