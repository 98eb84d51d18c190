"""The console's words, in Chinese (the default) and English. A page is in the language of
`?lang=` when given (then remembered in a cookie), else of that cookie, else Chinese.

Every key has both languages: a missing one fails the page's render in the tests, never
falls back silently. Workflow refusals keep their code and the workflow's own message.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.console.security import is_loopback

__all__ = ["LANGS", "LANG_COOKIE", "Texts", "language", "remember_language"]

LANGS = ("zh", "en")
LANG_COOKIE = "govgraph_lang"

_WORDS: dict[str, tuple[str, str]] = {
    "console": ("政务数据共享控制台", "Data-sharing console"),
    "lang.switch": ("English", "中文"),
    "nav.home": ("首页", "Home"),
    "nav.catalog": ("数据目录", "Catalogue"),
    "nav.apply": ("申请共享", "Apply"),
    "nav.applications": ("共享申请", "Applications"),
    "nav.reviews": ("待审核", "Reviews"),
    "nav.grants": ("授权", "Grants"),
    "nav.audit": ("审计", "Audit"),
    "nav.history": ("谁查询了我的信息", "Who accessed my data"),
    "home.lead": ("您好，{name}。您可以使用以下功能：", "Hello, {name}. What you can do here:"),
    "home.catalog": (
        "浏览各部门的数据资源和信息项，选择要申请的数据。",
        "Browse departments' resources and items; pick what to apply for.",
    ),
    "home.apply": ("为您的应用申请数据共享。", "Apply for data for your app."),
    "home.applications": (
        "查看申请的状态、办理时限和审核意见。",
        "See your applications' state, due dates and decisions.",
    ),
    "home.reviews": (
        "审核本部门待办的共享申请：{pending} 件待审，{overdue} 件逾期。",
        "Decide your department's applications: {pending} pending, {overdue} overdue.",
    ),
    "home.grants": ("查看、撤销或续期授权。", "See, revoke or renew grants."),
    "home.audit": (
        "按个人或应用查询访问记录，验证审计链。",
        "Access log by person or app; verify the audit chain.",
    ),
    "home.history": (
        "查看哪些应用、因何目的、依据什么批复查询过您的信息。",
        "Which apps read your record, for what purpose, on what approval.",
    ),
    "home.roles": ("您的角色", "Your roles"),
    "home.noroles": (
        "您没有工作人员角色；作为居民，您可以查看谁查询了您的信息。",
        "You hold no staff role; as a resident you can see who accessed your data.",
    ),
    "role.applicant": ("申请人", "applicant"),
    "role.reviewer": ("审核人", "reviewer"),
    "role.auditor": ("审计员", "auditor"),
    "role.administrator": ("管理员", "administrator"),
    "role.staff": ("工作人员", "staff"),
    "signin.title": ("登录", "Sign in"),
    "signin.lead": (
        "请使用统一身份认证平台签发的令牌登录。",
        "Sign in with a token from the platform's identity provider.",
    ),
    "signin.token": ("身份令牌", "Identity token"),
    "signin.submit": ("登录", "Sign in"),
    "signin.demo": (
        "演示环境：运行下面的命令获取一次性登录链接，在本浏览器中打开即可。"
        "ROLE 为演示中的角色（申请人、审核人、审计员、管理员），或一位居民的身份证号。",
        "The demo: run the command below for a one-time login link and open it in this browser."
        " ROLE is one of the demo's people (applicant, reviewer, auditor, administrator) or a resident's id.",
    ),
    "signin.expired": ("会话已过期，请重新登录。", "Your session has expired: sign in again."),
    "signin.required": ("请先登录。", "Sign in first."),
    "signin.done": ("已退出登录。", "You have signed out."),
    "bounce.title": ("正在打开控制台", "Opening the console"),
    "bounce.go": ("继续", "Continue"),
    "signout": ("退出", "Sign out"),
    "catalog.search": ("搜索资源或信息项（中文或英文）", "Search resources or items (Chinese or English)"),
    "catalog.go": ("搜索", "Search"),
    "catalog.all": ("全部部门", "All departments"),
    "catalog.none": ("没有匹配的资源。", "No resource matches."),
    "catalog.item": ("信息项", "Item"),
    "catalog.title": ("名称", "Title"),
    "catalog.sharing": ("共享类型", "Sharing"),
    "catalog.sensitivity": ("敏感级别", "Sensitivity"),
    "catalog.field": ("字段", "Field"),
    "catalog.conditions": ("共享条件", "Conditions"),
    "catalog.cycle": ("更新周期", "Update cycle"),
    "catalog.whole": ("整个资源", "whole resource"),
    "catalog.derived": ("核验结果与汇总", "Verdicts and summaries"),
    "catalog.apply": ("申请所选数据", "Apply for the selected data"),
    "catalog.hint": (
        "勾选信息项后点击下方按钮申请（同一申请只能包含一个部门的数据）。",
        "Tick items, then apply below (one application holds one department's data).",
    ),
    "sharing.unconditional": ("无条件共享", "unconditional (无条件共享)"),
    "sharing.conditional": ("有条件共享", "conditional (有条件共享)"),
    "sharing.not_shared": ("不予共享", "not shared (不予共享)"),
    "sensitivity.general": ("一般", "general"),
    "sensitivity.personal": ("个人信息", "personal"),
    "sensitivity.sensitive": ("敏感个人信息", "sensitive"),
    "sensitivity.minor": ("未成年人信息", "minor's"),
    "apply.client": ("申请应用", "Client"),
    "apply.choose": ("切换", "Choose"),
    "apply.purpose": ("用途", "Purpose"),
    "apply.items": ("申请的数据（完整）", "Items, in full"),
    "apply.items_text": (
        "其他信息项名称（每行一个，如 serious_dishonesty、credit_ratings.grade、"
        "Enterprise.hasNoSeriousDishonesty）",
        "More item names, one a line (serious_dishonesty, credit_ratings.grade,"
        " Enterprise.hasNoSeriousDishonesty)",
    ),
    "apply.masked": ("脱敏提供的信息项（可选，每行一个）", "Items to be seen masked (optional, one a line)"),
    "apply.scenario": ("应用场景", "Scenario (应用场景)"),
    "apply.basis": ("法律依据", "Legal basis"),
    "apply.period": ("使用期限（天）", "Period (days)"),
    "apply.pins": ("核验参数（JSON，可选）", "Verdict arguments (JSON, optional)"),
    "apply.submit": ("提交申请", "Submit the application"),
    "apply.noclient": ("您不是任何应用的申请人。", "You apply for no client."),
    "apply.done": ("申请 {id} 已提交：{state}。", "Application {id} submitted: {state}."),
    "apps.none": ("暂无申请。", "No applications."),
    "apps.new": ("新的申请", "New application"),
    "col.id": ("编号", "No."),
    "col.client": ("应用", "Client"),
    "col.purpose": ("用途", "Purpose"),
    "col.department": ("部门", "Department"),
    "col.items": ("数据", "Data"),
    "col.state": ("状态", "State"),
    "col.submitted": ("提交时间", "Submitted"),
    "col.due": ("办理时限", "Due"),
    "col.decision": ("审核意见", "Decision"),
    "col.grant": ("授权", "Grant"),
    "col.time": ("时间", "Time"),
    "col.basis": ("批复 / 依据", "Approval / basis"),
    "col.scopes": ("查询的数据", "Data read"),
    "col.verdicts": ("核验结论", "Verdicts"),
    "col.outcome": ("结果", "Outcome"),
    "col.operation": ("操作", "Operation"),
    "col.subjects": ("涉及对象", "Subjects"),
    "col.operator": ("经办人 / 案号", "Operator / case"),
    "col.expires": ("有效期至", "Expires"),
    "col.actions": ("操作", "Actions"),
    "col.applicant": ("申请人", "Applicant"),
    "state.pending": ("待审核", "pending"),
    "state.approved": ("已批准", "approved"),
    "state.refused": ("不予批准", "refused"),
    "state.active": ("有效", "active"),
    "state.expired": ("已过期", "expired"),
    "state.revoked": ("已撤销", "revoked"),
    "outcome.ok": ("成功", "ok"),
    "outcome.partial": ("部分拒绝", "partly refused"),
    "outcome.denied": ("拒绝", "refused"),
    "outcome.error": ("出错", "error"),
    "overdue": ("逾期", "overdue"),
    "never": ("长期", "no end"),
    "masked": ("脱敏", "masked"),
    "reviews.none": ("没有待审核的申请。", "No application waits for you."),
    "reviews.decided": ("近期已审核", "Recently decided"),
    "reviews.reason": ("审核意见（必填）", "Reason (required)"),
    "reviews.approve": ("批准", "Approve"),
    "reviews.refuse": ("不予批准", "Refuse"),
    "reviews.done": ("申请 {id}：{state}。", "Application {id}: {state}."),
    "grants.filter": ("按应用筛选", "Filter by client"),
    "grants.none": ("没有授权。", "No grants."),
    "grants.reason": ("原因", "Reason"),
    "grants.days": ("续期天数", "Days"),
    "grants.revoke": ("撤销", "Revoke"),
    "grants.renew": ("续期", "Renew"),
    "grants.revoked": ("授权 {id} 已撤销。", "Grant {id} revoked."),
    "grants.renewed": ("授权 {id} 已续期至 {until}。", "Grant {id} renewed until {until}."),
    "grants.import": ("政策文件导入", "policy file"),
    "audit.subject": (
        "按个人或企业查询（身份证号或统一社会信用代码）",
        "By person or enterprise (resident id or credit code)",
    ),
    "audit.client": ("按应用查询", "By client"),
    "audit.of": ("访问记录", "Access log"),
    "audit.find": ("查询", "Look up"),
    "audit.chain": ("审计链", "Audit chain"),
    "audit.verify": ("验证审计链", "Verify the chain"),
    "audit.intact": (
        "完整：{chains} 条链，{events} 条事件，未发现篡改。",
        "Intact: {chains} chains, {events} events, no break found.",
    ),
    "audit.broken": (
        "发现问题：{chains} 条链，{events} 条事件。",
        "Problems found: {chains} chains, {events} events.",
    ),
    "audit.none": ("没有记录。", "No events."),
    "audit.nostore": ("未配置审计库。", "No audit store is configured."),
    "history.lead": (
        "以下是各应用查询您信息的记录：时间、应用、用途、所依据的批复、查询的数据和核验结论。",
        "Every access to your record: when, by which app, for what purpose, on which approval,"
        " what was read and concluded.",
    ),
    "history.none": ("没有查询您信息的记录。", "No access to your record is on file."),
    "error.title": ("无法完成", "Not possible"),
    "error.back": ("返回首页", "Back to the start"),
    "error.notfound": ("没有这个页面。", "There is no such page."),
    "error.role": ("此页面仅供{role}使用。", "This page is for the {role} role."),
    "error.csrf": (
        "表单已失效或并非来自本控制台，请刷新页面后重试。",
        "The form is stale or not from this console: reload the page and try again.",
    ),
    "error.origin": ("拒绝来自其他网站的提交。", "A form from another site is refused."),
    "error.audit": (
        "审计日志暂时无法读取，请稍后再试。",
        "The audit log cannot be read now; try again later.",
    ),
    "error.body": ("提交的内容过大或缺少长度。", "The form is too large, or does not say its length."),
    "error.secret": (
        "控制台未配置会话密钥（[console] session_secret，至少 32 个字符）。",
        "The console has no session key ([console] session_secret, 32 characters or more).",
    ),
    "error.store": ("控制台需要政策库（[auth] store）。", "The console needs a policy store ([auth] store)."),
    "error.ticket": (
        "此登录链接已使用过或无效，请重新获取。",
        "This login link was used already or is not valid: get a new one.",
    ),
}


class Texts:
    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGS else LANGS[0]
        self._index = LANGS.index(self.lang)

    def __call__(self, key: str, **values: object) -> str:
        text = _WORDS[key][self._index]
        return text.format(**values) if values else text


def language(request: Request) -> tuple[str, bool]:
    """The page's language, and whether it was chosen by this request (to remember)."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked, True
    kept = request.cookies.get(LANG_COOKIE)
    return (kept if kept in LANGS else LANGS[0]), False


def remember_language(response: Response, request: Request, lang: str, path: str) -> None:
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=365 * 86400,
        path=path,
        secure=not is_loopback(request),
        httponly=True,
        samesite="strict",
    )
