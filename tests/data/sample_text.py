"""The awkward text the tokenizer tests encode: several scripts, emoji, combining marks,
white-space runs, numbers, contractions, added tokens in every position, very long words, and
lines of seeded random characters drawn from all of these. Deterministic: the same text on
every run. Lines are separated by '\n'; some lines are empty."""
import random

# Already NFC (combining marks with no precomposed form, precomposed letters).
NFC_MARKS = ["q\u0307", "a\u0332", "x\u0303\u0301", "\u1e69", "Ti\u1ebfng Vi\u1ec7t", "\u00f1and\u00fa",
             "\u0915\u094d\u0937", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35"]
# Not NFC: NFC changes them (decomposed letters, reordering, singletons, Hangul jamo).
NOT_NFC = ["e\u0301", "A\u030a", "\u212b", "\u2126", "a\u0301\u0327", "\u1100\u1161\u11a8",
           "o\u0308\u0304", "\u0041\u0300\u0316", "\u0958", "\u1e0b\u0323"]
SCRIPTS = ["Hello, world!", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
           "\u039a\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1 \u03ba\u03cc\u03c3\u03bc\u03b5",
           "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
           "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd",
           "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
           "\u4f60\u597d\uff0c\u4e16\u754c\u3002", "\u3053\u3093\u306b\u3061\u306f\u4e16\u754c\u3001\u30ab\u30bf\u30ab\u30ca",
           "\uc548\ub155\ud558\uc138\uc694 \uc138\uacc4", "\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0",
           "\u0532\u0561\u0580\u0565\u0582", "\u1230\u120b\u121d", "\u0dc3\u0dd2\u0d82\u0dc4\u0dbd"]
EMOJI = ["\U0001f44d\U0001f3fd", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
         "\U0001f1eb\U0001f1f7", "\u2764\ufe0f", "\U0001f600", "\U0001f9d1\u200d\U0001f4bb", "\u263a"]
NUMBERS = ["12345", "3.14159", "1,000,000", "2024-01-01", "\u0663\u0664\u0665", "\u00bd", "x\u00b2",
           "\u216b", "0x1F", "-42", "007", "\u2460\u2461"]
CONTRACTIONS = ["I'm", "you're", "they've", "we'll", "she'd", "it's", "DON'T", "'s", "''s", " 's",
                "rock'n'roll", "'", "'re'", "O'Neil's", "!'s", "'ll've"]
SPACES = ["  ", "    ", "\t", "\t\t", " \t ", "\u00a0", "\u3000", "\u2028", "\x0b", "\x0c", "\x85",
          "\u2009", "\u200b", "\r", "\x1c", "\u180e", "        ", "   "]
PUNCTUATION = ["...", "!!", "?!", "--", "()", "[]{}", "#", "@user", "$5", "%", "&&", "\u2014", "\u00ab\u00bb",
               "\u201cquoted\u201d", "<", ">", "|", "||", "_", "__init__", "\\", "/", "~"]


def lines(added_token_texts, include_not_nfc):
    """The sample's lines. added_token_texts: the added tokens' contents to scatter around."""
    out = [
        "The quick brown fox jumps over the lazy dog. I'm sure you're right; they've said we'll see.",
        "",
        "   leading spaces, trailing spaces   ",
        "\ttab\tseparated\tvalues\t",
        "multiple     internal      spaces and \t mixed \t  white space",
        " ",
        "\t",
        "numbers: 1 22 333 4444 55555 666666 3.14 1e10 \u00bd \u0663\u0664\u0665 \u216b",
        "contractions: " + " ".join(CONTRACTIONS),
        "scripts: " + " | ".join(SCRIPTS),
        "emoji: " + " ".join(EMOJI) + "".join(EMOJI),
        "marks (NFC): " + " ".join(NFC_MARKS),
        "punctuation: " + " ".join(PUNCTUATION) + "".join(PUNCTUATION),
        "white space: a" + "b".join(SPACES) + "c",
        "a" * 3000,
        "supercalifragilistic" * 150,
        "9" * 2000,
        "!?" * 1000,
        " " * 1500 + "x",
        "\u4f60\u597d" * 800,
        "\U0001f600" * 500,
        "\u00e9" * 700 + "e\u0301" * (300 if include_not_nfc else 0),
    ]
    if include_not_nfc:
        out.append("not NFC: " + " ".join(NOT_NFC) + " " + "".join(NOT_NFC))
    for text in added_token_texts:
        out += [text, text + text, "word" + text + "word", " " + text + " ", "  " + text + "  ",
                "x" + text, text + "x", text[:-1], text[1:], "a " + text + "\tb",
                "\u00e9" + text + "\u0301" if include_not_nfc else "\u00e9" + text + "\u00e9"]
    out.append("".join(added_token_texts) + " all " + "  ".join(added_token_texts))
    out += random_lines(300, added_token_texts, include_not_nfc)
    return out


def random_lines(count, added_token_texts, include_not_nfc):
    generator = random.Random(20261201)
    palette = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") * 3 +
               list(" " * 30) + list("'.,;:!?-_()\"/\\") + ["'s", "'re", "'ll", "\t", "\r"] +
               SPACES + EMOJI + NUMBERS + NFC_MARKS + list("".join(SCRIPTS)) + PUNCTUATION +
               ["\u0301", "\u0308", "\u20dd", "\ufe0f", "\u200d"] + list(added_token_texts) * 3 +
               (NOT_NFC if include_not_nfc else []))
    return ["".join(generator.choice(palette) for _ in range(generator.randrange(0, 120)))
            for _ in range(count)]


def training_text():
    """What the test tokenizers are trained on: ordinary text, without the awkward parts."""
    words = ("the of and to in is you that it he was for on are as with his they I at be this have "
             "from or one had by word but not what all were we when your can said there use an each "
             "which she do how their if will up other about out many then them these so some her "
             "would make like him into time has look two more write go see number no way could people "
             "my than first water been call who oil its now find long down day did get come made may "
             "part don't I'm you're they've we'll it's 2024 100 3.14 hello world").split()
    generator = random.Random(7)
    text = [" ".join(generator.choice(words) for _ in range(generator.randrange(3, 25)))
            for _ in range(3000)]
    syllables = ("ka ri to ne ma lu po se ti ra mo ve stro ber tion ing ed er est ly pre con "
                 "\u00fcber \u00e7\u00e3o \u00e9t \u0434\u043e \u043c\u0430 \u03ba\u03b1 "
                 "\u4e16 \u754c \u3053 \u3093").split()
    pseudo_words = [" ".join("".join(generator.choice(syllables) for _ in range(generator.randrange(1, 5)))
                             for _ in range(generator.randrange(3, 15))) for _ in range(3000)]
    return text + pseudo_words + SCRIPTS * 20 + EMOJI * 10 + NUMBERS * 10 + PUNCTUATION * 10
