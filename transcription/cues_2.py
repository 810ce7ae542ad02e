"""Cues added in reader 2.0: everyday wording of the same four things that the 1.2 list
(``transcription.cues``) never had, written as vocabulary, not as copies of sentences.

They only feed the learned reader (its cue features and its phrases); the 1.2 reader is
kept as it was, as the baseline it is measured against. A cue here does not decide a label
on its own: the model weighs it against the sentence embedding, so a broad pattern costs
less than it would in a word list.
"""

from __future__ import annotations

import re

from transcription.cues import ME, Cue, compile_phrase, group

_KIN = (
    r"(?:mum|mam|mom|dad|mother|father|nan|nana|gran|granny|grandma|grandad|grandmother"
    r"|grandfather|husband|wife|partner|son|daughter|kids?|children|baby|brother|sister"
    r"|neighbour|aunt|uncle)"
)
_CONTACT_VERB = r"(?:call|ring|phone|contact|text|email|e-mail|message|bother|pester)"
_CHANNEL = (
    r"(?:calls?|contact|texts?|emails?|e-mails?|letters?|messages?|surveys?|feedback"
    r"|marketing|offers|newsletters?|questionnaires?|reminders?)"
)

CUES_2: list[Cue] = [
    # --- distress
    # Not coping, said the many ways people say it.
    *group(
        "distress",
        0.85,
        [
            r"(?:can't|cannot|can not|not|struggling to|unable to) cope|not coping",
            r"(?:at|reached) (?:breaking point|the end of my tether|my wits'? end)",
            r"falling apart|going to pieces|in bits|a (?:nervous )?wreck|breaking down",
            r"on edge|overwhelm(?:ed|ing)|shaking|trembling|can't breathe|can't stop crying",
            r"terrif(?:ies|ying)|frighten(?:s|ing)|petrified|dread(?:ing|ful)?|scares me",
            r"beside (?:my|her|him|them)sel(?:f|ves)|sick with worry|worried sick",
            r"bricking it|shitting it|freaked out|freaking",
            r"(?:don't|do not) know (?:how|where|who|what) (?:i'?m|i am|we'?re|we are|to)"
            r"(?: going to| gonna)?",
            r"nowhere (?:else )?to turn|no one to turn to|at a loss",
            r"not in a good (?:way|place)|lying awake|sleepless|can't eat",
            r"(?:really|desperately|urgently) need (?:help|someone|this sorted)",
        ],
    ),
    # Words that may mean harm to self: always worth an urgent human call.
    *group(
        "distress",
        0.95,
        [r"suicid\w*|end it all|no point (?:in )?(?:living|going on)|self[- ]harm|kill myself"],
    ),
    # Hardship and vulnerability as facts: negation nearby does not cancel them.
    *group(
        "distress",
        0.6,
        [
            r"(?:feed|clothe) (?:my|the|our) (?:kids|children|family|baby)|food ?bank",
            r"(?:can't|cannot|won't be able to) pay (?:my|the|our)"
            r" (?:rent|bills?|mortgage|council tax)",
            r"(?:life|whole|all my|all our) savings|all (?:my|our) money",
            r"homeless|on the streets?|no (?:heating|electricity|power|gas|water|food)",
            r"(?:power|gas|electric(?:ity)?|water|heating) (?:will |might |is going to )?"
            r"(?:go off|be cut|be disconnected|get cut)|disconnect(?:ed|ion)",
            rf"my {_KIN} (?:is|has been|was taken) (?:in hospital|ill|poorly|dying|alone|unwell)",
        ],
        negatable=False,
    ),
    # Fraud is frightening more often than not, but plenty of callers report it calmly.
    *group("distress", 0.4, [r"fraud(?:sters?)?|scam(?:med)?|stolen|identity theft"]),
    # --- negative
    *group(
        "negative",
        0.75,
        [
            r"unacceptable|shambles|shambolic|pathetic|horrendous|diabolical|dreadful|poor",
            r"incompetent|clueless|hopeless|a nightmare|a disgrace|disgraceful|not good enough",
            r"let (?:me|us) down|(?:nobody|no one) (?:cares|listens|is listening)",
            r"(?:had|have|having) to chase|chasing (?:you|this|them)|every single (?:time|month)",
            r"harass(?:ment|ing)|fobbed off|messed (?:me )?about|run around|going round in circles",
            r"zero stars|never again|last time i|done with you|taking my business",
            r"(?:still|again) (?:waiting|no refund|nothing|broken|wrong)",
        ],
    ),
    # --- contact_request
    *group(
        "contact_request",
        0.85,
        [
            rf"give {ME} a (?:shout|buzz|bell)|reach out to {ME}",
            r"(?:call|ring|phone) (?:back )?(?:pls|plz|please|asap|as soon as)",
            r"(?:speak|talk|chat) (?:to|with) (?:someone|somebody|anyone|a person|a human"
            r"|a real person|an? (?:adviser|advisor|agent|manager|supervisor)|\w+ again)",
            r"(?:let me know|update me|keep me (?:posted|updated)|get back to me)"
            r" (?:by|over the|on the|via) (?:phone|call)",
            r"follow[- ]?up call|(?:a|the) call (?:from|with) (?:someone|somebody|an? \w+)",
            rf"(?:call|ring|phone|contact) (?:her|him|them|my {_KIN})",
            r"(?:by|over the) phone instead|phone instead|a call instead",
            r"(?:can|could|will|would) (?:someone|somebody|anyone|you) (?:please )?"
            r"(?:call|ring|phone|contact|get back to|get in touch)",
        ],
    ),
    # Asking to be written to is asking to be contacted (data/LABELS.md): "just email me",
    # "text my wife instead"; "don't text me again" is negated, "stop texting" is opt-out.
    *group(
        "contact_request",
        0.7,
        [
            rf"(?:e-?mail|text|whatsapp|message|write to) (?:{ME}|her|him|them|my {_KIN})"
            r"(?! (?:again|any ?more|every))",
        ],
    ),
    # --- opt_out
    *group(
        "opt_out",
        0.9,
        [
            rf"never (?:ask|{_CONTACT_VERB}) (?:me|us) again",
            r"(?:don't|do not|never) (?:want|wish) to (?:hear from|be (?:called|contacted|asked))",
            # "don't call me" opts out; "don't call me back" declines one call (neither).
            rf"(?:don't|do not|never) (?:ever )?{_CONTACT_VERB} (?:me|us|this number)(?! back)",
            rf"(?:rather|prefer(?:red)?) (?:you )?(?:didn't|did not|not|never) {_CONTACT_VERB}",
            rf"(?:no|nae|nay) (?:more|further) (?:\w+ )?{_CHANNEL}",
            # Longest first: the highlight should name what to stop sending.
            rf"stop sending (?:me |us )?(?:(?:these|those|your|the|any more|all) )?(?:\w+ )?"
            rf"{_CHANNEL}|stop sending (?:me|us)|stop (?:texting|emailing|e-mailing|messaging"
            r"|writing to)",
            r"(?:remove|take) (?:me|us|my (?:number|details|name|email)) (?:off|from)",
            r"unsubscribe|opt(?:ing)? (?:me )?out|opted out",
            rf"enough (?:of )?(?:these |your |the )?{_CHANNEL}",
            r"(?:won't|will not|not) (?:be )?(?:doing|answering|filling in|taking part in)"
            r" (?:any )?(?:more |another |these |your )?(?:surveys?|calls|questionnaires?)",
            rf"not interested in (?:\w+ )?{_CHANNEL}",
        ],
    ),
]

# The same words in another sense: a cue of that label inside one of these is dropped,
# and a label with no kept cue is not flagged where one of these is found
# (``transcription.reader.decide``).
OTHER_SENSES: dict[str, tuple[re.Pattern[str], ...]] = {
    "opt_out": (
        # "take me off hold", "he stopped the payment": not leaving the survey list.
        compile_phrase(r"take (?:me|us) off hold"),
        # Declining one call is not leaving all contact (data/LABELS.md): "no need to call
        # me back", "you don't need to ring me", "don't bother ringing", "don't ring me,
        # i'll ring you"; nor is cancelling an order or a visit.
        compile_phrase(
            r"(?:don't|do not|doesn't|won't|no) need (?:\w+ ){0,3}?(?:call|ring|phone|contact"
            r"|follow)|don't bother (?:calling|ringing|phoning|to (?:call|ring|phone))"
            r"|(?:don't|do not) (?:call|ring|phone) (?:me|us) back"
        ),
        compile_phrase(
            r"stop (?:charging|billing|debiting|overcharging|taking money from) (?:me|us|my)"
        ),
        compile_phrase(
            r"cancel(?:led|ling)? (?:my|the|our|this|that|an?) (?:\w+ )?(?:order|booking"
            r"|appointment|payments?|direct debit|standing order|card|delivery|engineer|visit"
            r"|policy|contract|account|claim|call ?back|transfer|cheque)"
        ),
        compile_phrase(
            r"(?:don't|do not) (?:call|ring|phone) (?:me|us)(?: back)?,? (?:i'll|i will|we'll)"
            r" (?:call|ring|phone|get back to) (?:you|back)"
        ),
        compile_phrase(
            r"stop(?:ped|ping|s)? (?:the|my|that|this|a|our) (?:\w+ )?(?:payments?|charges?"
            r"|direct debits?|standing orders?|cards?|transfers?|transactions?|orders?|cheques?)"
        ),
    ),
    "negative": (
        # Praise said through a negation or a complaint word: "couldn't have asked for
        # better", "can't fault her", "no complaints", "can't thank them enough".
        compile_phrase(
            r"(?:couldn't|could not|can't|cannot|could never) (?:have )?(?:asked|ask|wished"
            r"|wish|hoped|hope) for (?:a |any )?(?:better|more|nicer)"
            r"|(?:can't|cannot|couldn't|could not) (?:fault|complain|thank (?:\w+ ){1,2}enough)"
            r"|(?:couldn't|could not) (?:be|have been) (?:happier|nicer|more helpful|better)"
            r"|no complaints"
        ),
    ),
    "distress": (
        # "panic over": the worry ended during the call (data/LABELS.md).
        compile_phrase(r"panic(?:'s| is)? over"),
        # Routine money and health admin ("pay my rent through the app", "update my
        # prescription"): the words of hardship with none of its weight.
        compile_phrase(
            r"pay (?:my |the |our )?(?:rent|mortgage|bills?)"
            r" (?:through|via|online|using|with the app|in the app|by direct debit|by card)"
        ),
        compile_phrase(
            r"(?:update|change|renew|reorder|order|collect|transfer|move) (?:my |the |her |his )?"
            r"(?:\w+ )?(?:prescription|medication|repeat)"
        ),
    ),
}

# Words telling us an earlier worry is over: the 1.2 list plus how people say relief.
RESOLVED_2 = re.compile(
    r"\b(?:fixed|sorted|resolved|calmed me down|put my mind (?:at ease|at rest)|reassur\w*"
    r"|all good now|came through|(?:fine|ok|okay|good|sorted|better|calmer|relieved) now"
    r"|now (?:i'?m|i am|it'?s|it is|all|we'?re) (?:fine|ok|okay|good|sorted|better)"
    r"|feel (?:much |a lot |so much )?(?:better|calmer|relieved)|relieved|relief"
    r"|(?:a )?weight(?:'s| has been)? (?:been )?lifted|behind (?:me|us) now"
    r"|(?:but|and) not (?:any ?more|now)|no longer (?:worried|anxious|scared)"
    r"|all (?:done|dealt with|taken care of)|(?:paid|refunded|found) (?:it )?now)\b",
    re.IGNORECASE,
)
