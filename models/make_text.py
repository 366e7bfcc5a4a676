#!/usr/bin/python3
"""Generate the text-feature fixtures in models/text/ and the Unicode tables in
runtime/text_unicode_tables.c.

Run with Debian's interpreter only:  /usr/bin/python3 models/make_text.py

For every fixture NAME it writes
  NAME.pkl      pickle.dump(model, protocol=4)
  NAME.joblib   joblib.dump(model)
  NAME.json     {"kind": "sklearn", "class", "sklearn_version", "input_kind": "text",
                 "inputs": [document, ...], "outputs": {method: result}}
Sparse outputs (transform of a vectorizer) use the realworld form
  {"sparse_coo": true, "shape": [n, m], "row": [...], "col": [...], "data": [...]}
in the order scipy's CSR holds them.  Fixed seeds: re-running rewrites identical files.

The C tokenizer needs three facts about every code point that Python's `re` and
`str.lower()` use; they are taken from THIS interpreter's unicodedata (Unicode
version recorded in the table) and written to runtime/text_unicode_tables.c:
  - word: `\\w` in a str pattern  ==  ch.isalnum() or ch == '_'
  - lower: ch.lower() when it differs from ch (1..3 code points)
  - sigma: the classes str.lower() uses for the final-sigma rule (cased /
    case-ignorable), measured by lowering probe strings (see sigma_class).
The English stop-word list (sklearn.feature_extraction.text.ENGLISH_STOP_WORDS)
is written there too, sorted.
"""
import json
import math
import os
import pickle
import sys
import unicodedata

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "text")
TABLES = os.path.join(HERE, "..", "runtime", "text_unicode_tables.c")

TRAIN = [
    ("The quick brown fox jumps over the lazy dog", "en"),
    ("A lazy dog sleeps all day in the sun", "en"),
    ("Dogs and foxes are not the best of friends", "en"),
    ("The weather today is sunny and warm, isn't it?", "en"),
    ("I love machine-learning models that run_fast in C11", "en"),
    ("Le renard brun rapide saute par-dessus le chien paresseux", "fr"),
    ("Le chien dort toute la journ\u00e9e au soleil, \u00e0 c\u00f4t\u00e9 du ch\u00e2teau", "fr"),
    ("Les \u00e9l\u00e8ves \u00e9tudient l'apprentissage automatique \u00e0 l'\u00e9cole", "fr"),
    ("\u00c9T\u00c9 CHAUD: le caf\u00e9 est tr\u00e8s fort et tr\u00e8s noir", "fr"),
    ("Der schnelle braune Fuchs springt \u00fcber den faulen Hund", "de"),
    ("Die Stra\u00dfe ist gro\u00df und STRASSE hei\u00dft street; \u00c4RGER \u00fcber \u00d6L", "de"),
    ("\u039f \u03a3\u0399\u03a3\u03a5\u03a6\u039f\u03a3 \u03ba\u03b1\u03b9 \u03bf \u039f\u0394\u039f\u03a3 \u03c3\u03c4\u03b7\u03bd "
     "\u0391\u0398\u0397\u039d\u0391", "other"),
    ("\u041c\u0430\u0448\u0438\u043d\u043d\u043e\u0435 \u043e\u0431\u0443\u0447\u0435\u043d\u0438\u0435 "
     "\u0438 \u0411\u042b\u0421\u0422\u0420\u0410\u042f \u043b\u0438\u0441\u0430", "other"),
    ("\u0130stanbul \u0131\u015f\u0131k ve KIRMIZI elma", "other"),
    ("\u673a\u5668\u5b66\u4e60 \u6a21\u578b \u5feb\u901f\u7684\u72d0\u72f8 \u72d7", "other"),
    ("\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u0661\u0662\u0663 "
     "\u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e", "other"),
    ("\U0001F600 emoji \U0001F98A fox\U0001F415dog caf\u00e9\u0301 na\u00efve \ufb01le "
     "\u2460\u2461 \u00b2\u00b3 x\u00b2", "other"),
    ("under_score snake_case CamelCase MiXeD 42 3.14 1e10 a b c", "en"),
]

TEST = [
    "The lazy fox and the quick dog",
    "le chien et le renard \u00e0 l'\u00e9cole",
    "",
    "the and of it",
    "\u03a3\u0399\u03a3\u03a5\u03a6\u039f\u03a3 \u039f\u0394\u039f\u03a3\u0385 \u03a3\u03a3 \u0391\u03a3 \u03a3",
    "\u0130STANBUL I\u0307stanbul \u0131\u015f\u0131k",
    "STRASSE stra\u00dfe \u1e9e\u1e9e street",
    "\u673a\u5668\u5b66\u4e60\u6a21\u578b \u72d7",
    "fox\U0001F415dog \U0001F98A caf\u00e9\u0301 \u2460\u2461 x\u00b2 \ufb01le",
    "under_score __ _a 42 3.14 unknownword zzz",
    "\u0645\u0631\u062d\u0628\u0627 \u0661\u0662\u0663 \u0939\u093f\u0928\u094d\u0926\u0940",
    "Der Hund, der Fuchs, die Stra\u00dfe: \u00c4RGER!",
    "\u00c9T\u00c9 \u00e9t\u00e9 \u00c0 \u00e0 TR\u00c8S",
    "Dogs dogs DOGS dog's dog-days",
    "tab\tseparated\nnew line\r\nwindows",
    "\u0391\u0398\u0397\u039d\u0391 \u03bc\u03b5 \u03a3\u039f\u03a6\u0399\u0391\u03a3 \u03ba\u03b1\u03b9 \u039b\u039f\u0393\u039f\u03a3.",
]


def jsonable(a):
    if isinstance(a, np.ndarray):
        return [jsonable(x) for x in a]
    if isinstance(a, (list, tuple)):
        return [jsonable(x) for x in a]
    if isinstance(a, (np.floating, float)):
        f = float(a)
        return None if math.isnan(f) else f
    if isinstance(a, np.integer):
        return int(a)
    if isinstance(a, np.str_):
        return str(a)
    return a


def sparse_json(X):
    import scipy.sparse as sp
    X = sp.csr_matrix(X)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    return {"sparse_coo": True, "shape": [int(X.shape[0]), int(X.shape[1])],
            "row": jsonable(rows), "col": jsonable(X.indices), "data": jsonable(X.data),
            "dtype": str(X.dtype)}


def dump(name, model, methods):
    import joblib
    import scipy.sparse as sp
    path = os.path.join(OUT, name)
    with open(path + ".pkl", "wb") as fh:
        pickle.dump(model, fh, protocol=4)
    joblib.dump(model, path + ".joblib")
    outs = {}
    for m in methods:
        r = getattr(model, m)(TEST)
        outs[m] = sparse_json(r) if sp.issparse(r) else jsonable(np.asarray(r))
    cls = type(model)
    doc = {"kind": "sklearn", "class": cls.__module__ + "." + cls.__name__,
           "sklearn_version": __import__("sklearn").__version__, "input_kind": "text",
           "inputs": TEST, "outputs": outs}
    with open(path + ".json", "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False)
        fh.write("\n")
    print("wrote", name, ", ".join(methods))


# ---------------------------------------------------------------- unicode tables

def ranges(pred, limit=0x110000):
    out = []
    start = None
    for cp in range(limit):
        if 0xD800 <= cp <= 0xDFFF:
            ok = False
        else:
            ok = pred(chr(cp))
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            out.append((start, cp - 1))
            start = None
    if start is not None:
        out.append((start, limit - 1))
    return out


def sigma_class(ch):
    """0: neither, 1: cased and not case-ignorable, 2: case-ignorable.

    CPython's final-sigma rule skips case-ignorable characters first and only
    then asks whether a character is cased, so these three classes are all it
    needs.  'A\u03a3' + ch + 'B' lowers the sigma to U+03C3 iff ch is
    case-ignorable or cased; 'A\u03a3' + ch iff ch is cased and not ignorable.
    """
    p1 = ("A\u03a3" + ch + "B").lower()[1] == "\u03c3"
    p2 = ("A\u03a3" + ch).lower()[1] == "\u03c3"
    if p2:
        return 1
    if p1:
        return 2
    return 0


def write_tables():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    word = ranges(lambda c: c.isalnum() or c == "_")
    lower = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or cp == 0x03A3:
            continue
        lo = chr(cp).lower()
        if lo != chr(cp):
            assert 1 <= len(lo) <= 3
            lower.append((cp, [ord(x) for x in lo]))
    sig = []
    for cls in (1, 2):
        for a, b in ranges(lambda c, k=cls: sigma_class(c) == k):
            sig.append((a, b, cls))
    sig.sort()
    lines = []
    w = lines.append
    w("/*")
    w(" * text_unicode_tables.c - GENERATED by models/make_text.py from Python %s's" %
      sys.version.split()[0])
    w(" * unicodedata (Unicode %s).  Do not edit by hand." % unicodedata.unidata_version)
    w(" *")
    w(" * ckpt_text_word_ranges: code points matched by \\w in a Python str pattern")
    w(" *   (ch.isalnum() or ch == '_'), as sorted inclusive ranges.")
    w(" * ckpt_text_lower_map: str.lower() of every code point that changes, sorted by")
    w(" *   code point, up to 3 code points (0-padded).  U+03A3 is handled by the")
    w(" *   final-sigma rule with ckpt_text_sigma_ranges (1 = cased, 2 = case-ignorable).")
    w(" * ckpt_text_english_stop_words: sklearn's ENGLISH_STOP_WORDS, sorted (strcmp order).")
    w(" */")
    w('#include "text_internal.h"')
    w("")
    w('const char ckpt_text_unicode_version[] = "%s";' % unicodedata.unidata_version)
    w("")
    w("const ckpt_text_range ckpt_text_word_ranges[] = {")
    for i in range(0, len(word), 4):
        w("    " + " ".join("{0x%X, 0x%X}," % r for r in word[i:i + 4]))
    w("};")
    w("const size_t ckpt_text_word_range_count = sizeof ckpt_text_word_ranges / "
      "sizeof ckpt_text_word_ranges[0];")
    w("")
    w("const ckpt_text_lower ckpt_text_lower_map[] = {")
    for i in range(0, len(lower), 3):
        w("    " + " ".join("{0x%X, {0x%X, 0x%X, 0x%X}}," %
                            (cp, *(lo + [0, 0, 0])[:3]) for cp, lo in lower[i:i + 3]))
    w("};")
    w("const size_t ckpt_text_lower_count = sizeof ckpt_text_lower_map / "
      "sizeof ckpt_text_lower_map[0];")
    w("")
    w("const ckpt_text_class_range ckpt_text_sigma_ranges[] = {")
    for i in range(0, len(sig), 3):
        w("    " + " ".join("{0x%X, 0x%X, %d}," % r for r in sig[i:i + 3]))
    w("};")
    w("const size_t ckpt_text_sigma_range_count = sizeof ckpt_text_sigma_ranges / "
      "sizeof ckpt_text_sigma_ranges[0];")
    w("")
    words = sorted(ENGLISH_STOP_WORDS, key=lambda s: s.encode())
    w("const char *const ckpt_text_english_stop_words[] = {")
    for i in range(0, len(words), 8):
        w("    " + " ".join('"%s",' % s for s in words[i:i + 8]))
    w("};")
    w("const size_t ckpt_text_english_stop_word_count = sizeof ckpt_text_english_stop_words / "
      "sizeof ckpt_text_english_stop_words[0];")
    with open(TABLES, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("wrote", TABLES, len(word), "word ranges,", len(lower), "lower,", len(sig), "sigma")


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    from sklearn.feature_extraction.text import (CountVectorizer, HashingVectorizer,
                                                 TfidfTransformer, TfidfVectorizer)
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.naive_bayes import MultinomialNB, ComplementNB
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.svm import LinearSVC

    write_tables()
    os.makedirs(OUT, exist_ok=True)
    for fn in os.listdir(OUT):
        if fn.endswith((".pkl", ".joblib", ".json")):
            os.remove(os.path.join(OUT, fn))
    docs = [d for d, _ in TRAIN]
    y = np.array([l for _, l in TRAIN])
    y2 = (y == "en").astype(int)
    vec_m = ["transform"]
    clf_m = ["predict", "predict_proba"]

    # ---- vectorizers alone
    dump("count_default", CountVectorizer().fit(docs), vec_m)
    dump("count_ngram_binary", CountVectorizer(ngram_range=(1, 3), binary=True).fit(docs), vec_m)
    dump("count_stop_english", CountVectorizer(stop_words="english", ngram_range=(1, 2))
         .fit(docs), vec_m)
    dump("count_stop_list_nolower", CountVectorizer(lowercase=False,
                                                    stop_words=["le", "the", "und", "Der"],
                                                    ngram_range=(2, 2)).fit(docs), vec_m)
    dump("count_token_w1", CountVectorizer(token_pattern=r"(?u)\b\w+\b", min_df=1,
                                           max_features=60).fit(docs), vec_m)
    dump("tfidf_default", TfidfVectorizer().fit(docs), vec_m)
    dump("tfidf_sublinear_ngram", TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2),
                                                  norm="l1", smooth_idf=False).fit(docs), vec_m)
    dump("tfidf_noidf_nonorm", TfidfVectorizer(use_idf=False, norm=None, binary=True)
         .fit(docs), vec_m)
    dump("tfidf_stop_english", TfidfVectorizer(stop_words="english").fit(docs), vec_m)
    dump("hashing_default", HashingVectorizer(n_features=2 ** 12).fit(docs), vec_m)
    dump("hashing_nosign_binary", HashingVectorizer(n_features=97, alternate_sign=False,
                                                    binary=True, norm="l1",
                                                    ngram_range=(1, 2)).fit(docs), vec_m)
    dump("hashing_nonorm", HashingVectorizer(n_features=2 ** 20, norm=None).fit(docs), vec_m)

    # ---- pipelines
    dump("pipe_count_lr", make_pipeline(CountVectorizer(), LogisticRegression(C=10.0))
         .fit(docs, y), clf_m + ["decision_function"])
    dump("pipe_tfidf_lr_binary", make_pipeline(TfidfVectorizer(ngram_range=(1, 2)),
                                               LogisticRegression(C=10.0)).fit(docs, y2),
         clf_m + ["decision_function"])
    dump("pipe_tfidf_nb", make_pipeline(TfidfVectorizer(stop_words="english"),
                                        MultinomialNB(alpha=0.1)).fit(docs, y), clf_m)
    dump("pipe_count_tfidf_nb", Pipeline([("count", CountVectorizer(ngram_range=(1, 2))),
                                          ("tfidf", TfidfTransformer(sublinear_tf=True)),
                                          ("nb", MultinomialNB())]).fit(docs, y), clf_m)
    dump("pipe_count_tfidf_transform", Pipeline([("count", CountVectorizer()),
                                                 ("tfidf", TfidfTransformer(norm="l1"))])
         .fit(docs), vec_m)
    dump("pipe_hash_lr", make_pipeline(HashingVectorizer(n_features=2 ** 10, ngram_range=(1, 2)),
                                       LogisticRegression(C=10.0)).fit(docs, y),
         clf_m + ["decision_function"])
    dump("pipe_hash_nb", make_pipeline(HashingVectorizer(n_features=2 ** 8, alternate_sign=False,
                                                         norm=None), MultinomialNB())
         .fit(docs, y), clf_m)
    dump("pipe_tfidf_svc", make_pipeline(TfidfVectorizer(), LinearSVC(random_state=0))
         .fit(docs, y), ["predict", "decision_function"])
    dump("pipe_tfidf_sgd", make_pipeline(TfidfVectorizer(), SGDClassifier(loss="log_loss",
                                                                          random_state=0))
         .fit(docs, y), clf_m + ["decision_function"])


if __name__ == "__main__":
    main()
