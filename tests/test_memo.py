"""gigjax/memo.py: a bounded memo table computes each key once and drops its oldest entries first."""

from gigjax.memo import memoised


def test_a_key_is_computed_once_and_the_oldest_entries_go_first():
    table, calls = {}, []

    def compute(key):
        return lambda: calls.append(key) or key * 10

    assert [memoised(table, k, compute(k), size=2) for k in (1, 2, 1)] == [10, 20, 10]
    assert calls == [1, 2]                       # the repeat was not computed again
    assert memoised(table, 3, compute(3), size=2) == 30
    assert list(table) == [2, 3]                 # 1, the oldest, went
    assert memoised(table, 1, compute(1), size=2) == 10 and calls == [1, 2, 3, 1]
