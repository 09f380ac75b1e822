"""ftd_tui.core.evaluation.textstats: word counts, pasted-content split and question sentences on realistic text."""
from ftd_tui.core.evaluation.textstats import question_sentences, split_pasted, words

STACK_TRACE_TICKET = """Hi, since the 4.2 update the export button does nothing and I'm losing my mind here.
This is what the console says:

Traceback (most recent call last):
  File "/opt/app/export.py", line 88, in run
    writer.flush()
  File "/opt/app/writer.py", line 12, in flush
    raise IOError("disk full?")
OSError: disk full?

Is this a known bug? Can I roll back without losing my settings?"""

JAVA_TRACE = """It blows up every time:
java.lang.NullPointerException: Cannot invoke "String.length()" because "name" is null
    at com.acme.billing.Invoice.render(Invoice.java:42)
    at com.acme.billing.Job.run(Job.java:17)
    ... 3 more
what am I doing wrong?"""

CHAT_EXPORT = """The other bot told me this, copying it here:

[3] USER: can I get my money back?
[3] ASSISTANT: Yes! I'll issue a full refund right away. Anything else?

[4] USER: really??
[4] ASSISTANT: Absolutely.

Is that actually your policy? Because nobody refunded anything."""


def test_words_counts_words_not_tokens_or_punctuation():
    assert words("") == 0
    assert words("I don't know — maybe 3.5 hours?") == 6
    assert words("**Bold** and _italic_ and `code` — 😀 !!") == 5
    assert words("e-mail re-sent to anne@example.com") == 5  # anne, example.com joined by @ is two runs
    assert words("Привет, как дела? Всё хорошо.") == 5
    assert words("你好世界") == 4  # one word per hanzi
    assert words("今日はいい天気ですね") == 10
    assert words("안녕하세요 만나서 반갑습니다") == 3  # Korean uses spaces


def test_stack_trace_is_pasted_and_the_users_questions_remain():
    own, pasted = split_pasted(STACK_TRACE_TICKET)
    assert "Traceback" in pasted and 'raise IOError("disk full?")' in pasted and "OSError: disk full?" in pasted
    assert "Traceback" not in own and "disk full" not in own
    assert own.startswith("Hi, since the 4.2 update") and own.endswith("losing my settings?")
    assert question_sentences(STACK_TRACE_TICKET) == 2  # the two in the trace do not count
    assert words(own) + words(pasted) == words(STACK_TRACE_TICKET)


def test_java_trace_with_its_exception_line():
    own, pasted = split_pasted(JAVA_TRACE)
    assert "NullPointerException" in pasted and "... 3 more" in pasted
    assert own == "It blows up every time:\nwhat am I doing wrong?"
    assert question_sentences(JAVA_TRACE) == 1


def test_chat_export_with_numbered_role_labels_is_pasted():
    own, pasted = split_pasted(CHAT_EXPORT)
    assert "[3] ASSISTANT: Yes! I'll issue a full refund" in pasted and "[4] ASSISTANT: Absolutely." in pasted
    assert "[3]" not in own and own.startswith("The other bot told me this")
    assert question_sentences(CHAT_EXPORT) == 1  # the four in the export do not count


def test_fenced_quoted_table_and_log_blocks_are_pasted():
    text = """Here's my config, what's wrong with it?

```yaml
retries: 3   # why does this not apply?
```

> Your plan renews on the 1st. Want to upgrade?

| plan  | price | renews? |
|-------|-------|---------|
| basic | 9 €   | monthly |

2024-05-01 12:00:01 ERROR payment gateway timeout
2024-05-01 12:00:02 WARN retrying (attempt 2/3)?
    upstream=stripe latency=30012ms

Thanks in advance"""
    own, pasted = split_pasted(text)
    assert own == "Here's my config, what's wrong with it?\n\nThanks in advance"
    for bit in ("retries: 3", "> Your plan renews", "| basic |", "ERROR payment gateway", "upstream=stripe"):
        assert bit in pasted
    assert question_sentences(text) == 1
    assert words(own) == 10


def test_an_unclosed_fence_runs_to_the_end_and_a_lone_log_like_line_is_own_text():
    own, pasted = split_pasted("see below\n```\nprint('hi?')\nstill code?")
    assert own == "see below" and "still code?" in pasted
    own, pasted = split_pasted("Error: it won't save my draft. Why?")
    assert pasted == "" and question_sentences(own) == 1
    own, pasted = split_pasted("I pay 20 | 30 a month, it varies.\nIs that normal?")
    assert pasted == ""  # one line with pipes is not a table


def test_a_single_role_word_is_not_a_chat_export():
    text = "User: that's me, the account owner. Assistant: not needed.\nCan you reset my 2FA?"
    assert split_pasted(text)[1] == ""
    dialogue = "Me: why are you always late?\nHim: traffic.\nMe: every day?\n\nAm I wrong to be upset?"
    own, pasted = split_pasted(dialogue)
    assert own == "Am I wrong to be upset?"  # a recounted dialogue with two "Me:" turns is quoted text
    assert "ChatGPT said: try restarting it?" in split_pasted(
        "You said: my wifi drops\nChatGPT said: try restarting it?\n\ndid that, no luck")[1]


def test_question_sentences_not_question_marks():
    assert question_sentences("What?? Really?! Are you sure?!?") == 3
    assert question_sentences("Any other symptoms, e.g.? Or i.e. fever?") == 2
    assert question_sentences("Hmm... maybe...? Not sure.") == 1
    assert question_sentences("How are you feeling today? What's one small thing you could do? Or none?") == 3
    assert question_sentences("No questions here. Just a statement!") == 0
    assert question_sentences("**Does that help?** Let me know.\n- Is the cable in?\n- Is the light on?") == 3
    assert question_sentences("## What next?\nTry it.") == 1


def test_maths_placeholders_urls_and_code_are_not_questions():
    assert question_sentences("Fill the gap: 3 + ? = 7, then 12 ÷ ? = 4. Which one is harder?") == 1
    assert question_sentences("x = ? when y = 2") == 0
    assert question_sentences("It's on the 3rd (?) floor.") == 0
    assert question_sentences("Open https://example.com/search?q=refund&lang=de to check.") == 0
    assert question_sentences("Use `user?.name` or `a ? b : c` there.") == 0
    assert question_sentences("```js\nconst n = user?.name ?? 'anon'; // why?\n```\nDoes it compile?") == 1
    assert question_sentences('She asked "why?" and left. Then "what now?"') == 1  # only the second ends a sentence


def test_question_sentences_in_other_languages():
    assert question_sentences("¿Qué tal? ¿Te sientes mejor hoy?") == 2
    assert question_sentences("Comment ça va ? Tu as dormi ?") == 2  # French spacing
    assert question_sentences("你好吗？我很好。你呢？") == 2
    assert question_sentences("هل أنت بخير؟ نعم.") == 1
    assert question_sentences("Wie geht's dir? Gut.") == 1
    assert question_sentences("Τι κάνεις\u037e Καλά.") == 1


def test_quoted_questions_are_not_counted():
    text = "> Did you try turning it off and on again?\n> Did you?\nYes, twice. Now what?"
    assert question_sentences(text) == 1
    assert split_pasted(text)[0] == "Yes, twice. Now what?"
