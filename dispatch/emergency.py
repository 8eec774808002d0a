"""Emergencies: which public number the resident is told to call at once (110 / 119 / 120).

Mapping, most specific first (docs/dispatch.md):
- explicit codes: gas leaks and lifts with people trapped are fire-rescue work (119); suspected
  food poisoning, an elderly person alone in trouble and psychological crises are medical (120);
  people missing are police work (110);
- then by 365 group: 消防安全 XF → 119; 治安隐患 ZA, 矛盾纠纷 JF, 特殊人群 TS → 110;
  食品药品 SP → 120;
- then by the handling department: XFD → 119; WSJ, MZJ → 120; everything else → 110.
"""

from __future__ import annotations

from catalog.model import CaseType, Service, Severity

FIRE, MEDICAL, POLICE = "119", "120", "110"

_BY_CODE = {
    "XF04": FIRE,  # 燃气泄漏
    "FW04": FIRE,  # 电梯困人: fire rescue frees trapped people
    "SP04": MEDICAL,  # 疑似食物中毒
    "TS01": MEDICAL,  # 独居老人异常情况
    "AY008": MEDICAL,  # 紧急求助上门处置
    "AY020": MEDICAL,  # 心理危机干预
    "AY032": POLICE,  # 走失人员协寻
}
_BY_GROUP = {"XF": FIRE, "ZA": POLICE, "JF": POLICE, "TS": POLICE, "SP": MEDICAL}
_BY_DEPARTMENT = {"XFD": FIRE, "WSJ": MEDICAL, "MZJ": MEDICAL}


def is_emergency(severity: Severity | str) -> bool:
    return str(severity) == Severity.EMERGENCY.value


def emergency_number(item: Service | CaseType) -> str:
    """The number to call for ``item`` (see the module docstring for the order of the rules)."""
    if item.code in _BY_CODE:
        return _BY_CODE[item.code]
    if isinstance(item, CaseType) and item.group in _BY_GROUP:
        return _BY_GROUP[item.group]
    return _BY_DEPARTMENT.get(item.department, POLICE)
