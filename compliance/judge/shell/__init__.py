"""Shell text read as a shell would run it, for the static checks over workflows and deploy scripts.

A line that mentions ``State=Active`` proves nothing: it may be a comment, an ``echo`` argument, a
test whose failure ``|| true`` swallows, or code after ``exit 0``. So the text is parsed (words with
their quoting, ``$(...)``, heredocs, line continuations, ``&&``/``||``/``;``/pipes, ``if``/``case``/
loops/functions) and then *run abstractly* (``prove.prove_fails``): every path of the script under the
hypothesis "the function's value is wrong", and whether each path ends the script non-zero.
Anything the model cannot follow (``eval``, ``source``, a loop that never ends, too many paths)
ends its path as *unknown*, which never counts as proof.

In reading order: ``lexer`` (words) -> ``parser`` -> ``nodes`` (the tree and its walks); ``state``
(hypothesis and one path), ``runner`` (control flow) with ``commands`` (one command) and ``testexpr``
(``[ ]``); ``prove`` (the question); ``steps`` and ``verdicts`` (GitHub Actions jobs judged with it);
``deploy_script`` (which commands deploy, and whether a deploy script does).
"""
