"""Requests in a spoken reply: to reach a person, or to hear from us no more.

A request is read from how it is asked, not from the words it mentions: "can I speak to a
person", "get me an operator", "take me off your list", "stop calling me" are requests;
"the agent was great", "the person I spoke to was rude", "they helped me stop the charge"
describe the call. Each clause is matched on its own, and a clause that denies the request
("I don't need anyone to call me", "don't take me off the list") asks for nothing.
"""

from __future__ import annotations

import enum
import re

from replies.words import clauses


class Intent(enum.StrEnum):
    HUMAN = "human"
    OPT_OUT = "opt_out"


_NOUNS = (
    r"(?:person|human being|human|people|agent|operator|representative|rep|advisor|adviser"
    r"|supervisor|manager|someone|somebody|anyone|anybody|staff|member of (?:staff|your team)"
    r"|staff member|team member|customer (?:service|services|care|support)|associate"
    r"|specialist|consultant|executive|colleague|someone else|somebody else)\b"
)
# Who a request asks for: "a real person", "someone", "your manager" (not "the agent", which
# is how a caller describes the one they spoke to).
_PEOPLE = (
    r"(?:(?:a|an|some|any|another|one of your|your|real|live|actual|proper|human|senior)"
    r"\s+)*" + _NOUNS
)
_SPEAK = (
    r"(?:speak|talk|chat|have a word|a word|get through|be put through|be transferred|be connected"
    r"|be passed|get put through|complain|make a complaint|escalate this|escalate it)\s+"
    r"(?:(?:straight|directly|right)\s+)?(?:to|with|through)\b"
    r"(?!\s+you\b)"
)
_A_CALL = r"(?:a\s+)?(?:call back|phone call back|ring back|phone call|call|ring)\b"
_BE_CALLED = r"(?:be|get)\s+(?:called|rung|phoned|contacted)\b"
_CALL_ME = r"(?:call|ring|phone|contact|get back to|get in touch with|text)\s+(?:me|us)\b"
# What may open a request clause: fillers, a yes or no, politeness.
_LEAD = (
    r"^(?:(?:um|umm|uh|er|erm|so|ok|okay|yes|yeah|no|nah|well|hello|hi|look|listen|sorry|please"
    r"|just|now|then|and|actually|right|oh|hey|kindly)\s+)*"
    r"(?:(?:can|could|will|would) you\s+(?:please\s+|just\s+)*"
    r"|(?:i|we) (?:want|need|would like) you to\s+|please\s+|just\s+)?"
)
_HUMAN = [
    # "can i speak to a person", "could we get a call back", "may i be transferred"
    re.compile(
        r"\b(?:can|could|may|might|will|would)\s+(?:i|we)\s+(?:please\s+|just\s+|also\s+)*(?:"
        + _SPEAK
        + r"|(?:get|have|request|arrange)\s+(?:"
        + _PEOPLE
        + "|"
        + _A_CALL
        + ")|"
        + _BE_CALLED
        + ")"
    ),
    # "i want to talk to someone", "i would like a call back", "i need a human"
    re.compile(
        r"\b(?:i|we)\s+(?:would\s+|really\s+|just\s+|still\s+|do\s+|also\s+|actually\s+)*"
        r"(?:want|need|would like|would love|would prefer|would rather|wish|demand|require"
        r"|request|am requesting|am asking for|ask for|insist on|would appreciate)\s+"
        r"(?:to\s+)?(?:" + _SPEAK + "|" + _PEOPLE + "|" + _A_CALL + "|" + _BE_CALLED + ")"
    ),
    # imperatives at the start of a clause: "get me an operator", "please call me back"
    re.compile(
        _LEAD + r"(?:put me through|put me on to|put me onto|connect me|transfer me"
        r"|pass me (?:on|over|through)|let me (?:speak|talk|chat)|"
        + _SPEAK
        + r"|(?:get|give|find|fetch) (?:me|us) "
        + _PEOPLE
        + "|"
        + _CALL_ME
        + r"|give (?:me|us) a (?:call|ring|bell|buzz)|(?:have|get|send) "
        + _PEOPLE
        + r" (?:to )?(?:call|ring|phone|contact)"
        r"|(?:ask|get|have|tell) (?:\w+ ){1,2}to (?:call|ring|phone|contact) (?:me|us))"
    ),
    # "can someone call me", "is there anyone i can talk to"
    re.compile(
        r"\b(?:can|could|will|would|please)\s+"
        + _PEOPLE
        + r"\s+(?:please\s+)?(?:call|ring|phone|contact|get back to|get in touch with)\s+(?:me|us)"
    ),
    re.compile(
        r"\b(?:is|are) there\s+" + _PEOPLE + r"\s+(?:(?:(?:i|we)\s+(?:can|could)\s+|to\s+)"
        r"(?:speak|talk|chat)(?:\s+(?:to|with))?|there\b|available\b|on the line\b)"
    ),
    # the whole clause is who they want: "agent", "a real person please", "call back"
    re.compile(
        r"^(?:(?:um|uh|er|erm|please|just|yes|yeah|ok|okay|now|hello|hi|no)\s+)*"
        r"(?:(?:a|an)\s+)?(?:real\s+|live\s+|actual\s+)?(?:person|human being|human|agent"
        r"|operator|representative|rep|advisor|adviser|supervisor|manager|customer service"
        r"|customer services|call back|someone|somebody)(?:\s+(?:please|now|thanks|thank you"
        r"|then|mate))*$"
    ),
]
# What one is taken off or opted out of, when it is said: our list, the calls, the surveys
# (not "the joint account", "the premium plan": that is what the support call was about).
_LIST_NOUNS = (
    r"(?:(?:your|the|this|that|these|all|all your|all the|any|future|further|my)\s+)*(?:list|lists"
    r"|calling list|call list|mailing list|contact list|database|system|records|register|surveys?"
    r"|calls?|calling|feedback|questionnaires?|these|this|it|them|you|you guys|you people)\b"
)
_CLAUSE_END = r"(?:\s*$|\s+(?:please|now|thanks|thank you|then|immediately|for good|permanently)\b)"
_OUR_LIST = (
    r"(?:\s+(?:off|from|out of|of)\s+" + _LIST_NOUNS + r"|(?:\s+(?:off|out))?" + _CLAUSE_END + ")"
)
# "helped me unsubscribe", "rang to opt out": why they called support, not a request to us.
_WHY_THEY_CALLED = (
    r"(?<!\bhelped me )(?<!\bhelp me )(?<!\bcalled to )(?<!\brang to )(?<!\bphoned to )"
    r"(?<!\bmanaged to )(?<!\btried to )(?<!\bable to )"
)
_OPT_OUT = [
    re.compile(_WHY_THEY_CALLED + r"\b(?:unsubscribe|opt out|opt me out)(?:\s+me)?" + _OUR_LIST),
    re.compile(
        r"\b(?:remove|delete|drop|scrub|strike|cross|forget|take|get)\s+(?:me|us|my (?:phone\s+)?"
        r"(?:number|name|details|info|information)|this number)"
        r"(?:\s+(?:off|from|out of)\s+" + _LIST_NOUNS + r"|(?:\s+(?:off|out))" + _CLAUSE_END + ")"
    ),
    re.compile(
        r"\b(?:remove|delete|drop|scrub|forget)\s+(?:me|us|my (?:phone\s+)?(?:number|name"
        r"|details|info|information)|this number)" + _CLAUSE_END
    ),
    # "stop calling me", "please stop", "can you stop these calls" (not "stop the charge")
    re.compile(
        r"(?:^|\b(?:please|just|now|so|ok|okay|and|then|yes|yeah|no|right|kindly|you|stop"
        r"|(?:want|need|like|asking|asked|told|beg|begging) (?:you|them) to)\s+)"
        r"(?:please\s+|just\s+|kindly\s+)*(?:stop|quit|cease|cancel|end)\s*(?:(?:calling|ringing"
        r"|phoning|contacting|texting|messaging|bothering|pestering|hassling|harassing|spamming"
        r"|sending|surveying)\b|(?:(?:the|these|your|this|all|all these|all the|all your|with the"
        r"|with these|with)\s+)?(?:calls|call|calling|surveys|survey|questions|nonsense|rubbish"
        r"|it|this|them|now|please|stop)\b|$)"
    ),
    # "i don't want any more of these calls", "we don't want to be called again"
    re.compile(
        r"\b(?:i|we)\s+(?:do not|does not|never|would rather not|really do not)\s+(?:want|need"
        r"|wish)?\s*(?:(?:to\s+)?(?:do|take|answer|get|receive|hear|have)\s+)?(?:any\s+more|anymore"
        r"|any|more|these|this|your|the|another|further|all)?\s*(?:of\s+(?:these|your|the|this)\s+)?"
        r"(?:surveys?|calls?|questionnaires?|phone calls?|feedback calls?|follow ups?"
        r"|(?:to\s+)?(?:be|being)\s+(?:called|contacted|surveyed|rung|phoned|bothered|asked))"
    ),
    # "don't call me again", "never ring this number again" (not "don't call me back")
    re.compile(
        r"\b(?:do not|never|please do not|do not ever)\s+(?:ever\s+)?(?:call|ring|phone|contact"
        r"|text|message|survey|bother)\s+(?:me|us|this number|my number|here)\b(?!\s+back)"
    ),
    re.compile(
        r"\b(?:do not|never|please do not|stop)\s+(?:ever\s+)?send(?:ing)?\s+(?:me|us)\s+"
        r"(?:any\s+more|anymore|more|these|another|any|your|the)?\s*(?:of\s+(?:these|your|the)\s+)?"
        r"(?:surveys?|calls?|questionnaires?|texts?|messages?|these|them)\b"
    ),
    re.compile(r"\bno\s+more\s+(?:calls|surveys?|calling|questions|of (?:these|this|your))\b"),
    re.compile(r"\b(?:do not call|dnc) (?:list|register)\b"),
    re.compile(r"\bleave (?:me|us) alone\b"),
    re.compile(
        r"\b(?:do not|never)\s+(?:bother\s+)?(?:call|calling|ring|ringing|phone|phoning|contact"
        r"|contacting)\s+(?:me\s+|us\s+|this number\s+)?(?:again|anymore|any more|ever again)\b"
    ),
    re.compile(
        r"\b(?:i|we)\s+(?:am|are)\s+not\s+(?:doing|taking|answering)\s+(?:any\s+more|anymore|any"
        r"|more|these|your)\s*(?:of\s+(?:these|your)\s+)?(?:surveys?|calls?|questionnaires?)\b"
    ),
    re.compile(
        r"\b(?:i|we)\s+(?:do not|never)\s+want\s+(?:you|your company|you people|anyone)\s+"
        r"(?:to\s+)?(?:call|calling|ring|ringing|phone|phoning|contact|contacting|bother"
        r"|bothering)\s+(?:me|us)\b(?!\s+back)"
    ),
    re.compile(
        r"\b(?:do not|never|never ever)\s+(?:want|wish|need)\s+to\s+hear\s+from\s+(?:you|your)"
    ),
    re.compile(
        r"\b(?:i|we)\s+(?:want|would like|wish|need)\s+(?:to\s+)?(?:be\s+)?(?:unsubscribed"
        r"|opted out|removed|taken off|off your list|off the list|off your calling list)"
    ),
    re.compile(
        r"\b(?:i|we)\s+(?:want|would like|need)\s+(?:the|these|your|this|all|all these)?\s*"
        r"(?:calls|surveys|calling|survey calls|phone calls)\s+to\s+stop"
    ),
]
# A request denied just before it: "do not take me off", "i do not want to unsubscribe",
# "no need to call me" (but "the agent could not help, so can i talk to ..." is a request).
_DENIAL = re.compile(
    r"\b(?:not|never|no need)\s+(?:(?:want|need|ever|to|you|please|be|have|really|wish)\s+){0,3}$"
)


def _found(patterns: list[re.Pattern[str]], clause: str) -> re.Match[str] | None:
    for pattern in patterns:
        for match in pattern.finditer(clause):
            if not _DENIAL.search(clause[: match.start()]):
                return match
    return None


def read_intent(text: str) -> tuple[Intent | None, str]:
    """The request in a normalised reply, and the reply with the request taken out.

    The rest is what the caller answered: "no, take me off your list" leaves "no", so the
    words of a request ("no more calls") are never read as the answer.
    """
    intent: Intent | None = None
    rest: list[str] = []
    for clause in clauses(text):
        opt_out = _found(_OPT_OUT, clause)
        human = None if opt_out else _found(_HUMAN, clause)
        match = opt_out or human
        if match is None:
            rest.append(clause)
            continue
        if opt_out is not None:  # outweighs a person: it must never be missed (and is read back)
            intent = Intent.OPT_OUT
        elif intent is None:
            intent = Intent.HUMAN
        remainder = (clause[: match.start()] + " , " + clause[match.end() :]).strip(" ,")
        if remainder:
            rest.append(remainder)
    return intent, " , ".join(rest)
