import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taal_det.pool import PoolError, PoolState, load_initial_ids

IDS = [f'{i:06d}' for i in range(50)]


def test_initial_split_is_seeded_and_sized():
    a, b, c = PoolState(IDS), PoolState(reversed(IDS)), PoolState(IDS)
    a.init_random(10, seed=1)
    b.init_random(10, seed=1)
    c.init_random(10, seed=2)
    assert a.labelled == b.labelled and len(a.labelled) == 10
    assert a.labelled != c.labelled
    assert set(a.unlabelled) == set(IDS) - set(a.labelled)
    assert a.unlabelled == sorted(a.unlabelled) and a.cycle == 0


@pytest.mark.parametrize('size, msg', [(0, 'positive'), (-3, 'positive'), (51, 'larger than the pool'),
                                       (2.5, 'positive')])
def test_bad_initial_size(size, msg):
    with pytest.raises(PoolError, match=msg):
        PoolState(IDS).init_random(size, seed=0)


def test_add_enforces_invariants():
    pool = PoolState(IDS)
    pool.init_random(5, seed=0)
    free = pool.unlabelled
    with pytest.raises(PoolError, match='positive'):
        pool.add(free[:3], budget=0)
    with pytest.raises(PoolError, match='expected 3'):
        pool.add(free[:2], budget=3)
    with pytest.raises(PoolError, match='not an unlabelled'):
        pool.add([pool.labelled[0]] + free[:2], budget=3)
    with pytest.raises(PoolError, match='not an unlabelled'):
        pool.add(['nope'] + free[:2], budget=3)
    with pytest.raises(PoolError, match='duplicate'):
        pool.add([free[0]] * 3, budget=3)
    with pytest.raises(PoolError, match='not finite'):
        pool.add(free[:3], budget=3, scores={i: float('nan') for i in free[:3]})
    assert len(pool.labelled) == 5 and pool.cycle == 0  # nothing changed
    pool.add(free[:3], budget=3, scores={i: 0.5 for i in free})
    assert pool.cycle == 1 and pool.labelled[-3:] == free[:3]
    assert pool.history[1]['scores'] == {i: 0.5 for i in free[:3]}


def test_budget_larger_than_remaining_takes_the_rest():
    pool = PoolState(IDS[:8])
    pool.init_random(6, seed=0)
    pool.add(pool.unlabelled, budget=100)
    assert pool.exhausted and not pool.unlabelled


def test_save_writes_cycle_files_and_reloads(tmp_path):
    pool = PoolState(IDS)
    pool.init_random(4, seed=3)
    pool.save(tmp_path)
    pool.add(pool.unlabelled[:2], budget=2)
    pool.save(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ['cycle_0.json', 'cycle_0_trainval.txt', 'cycle_1.json',
                                            'cycle_1_trainval.txt', 'initial.json', 'state.json']
    cyc = json.loads((tmp_path / 'cycle_1.json').read_text())
    assert cyc['labelled'] == pool.labelled and cyc['added'] == pool.labelled[4:]
    assert (tmp_path / 'cycle_1_trainval.txt').read_text().split() == pool.labelled
    state = json.loads((tmp_path / 'state.json').read_text())
    assert PoolState.from_state_dict(state).state_dict() == pool.state_dict()
    again = PoolState(IDS)
    again.init_from_ids(load_initial_ids(str(tmp_path / 'initial.json'), IDS))
    assert again.labelled == pool.labelled[:4]


def test_initial_file_with_unknown_or_duplicate_ids(tmp_path):
    f = tmp_path / 'init.txt'
    f.write_text('000001\nzzz\n')
    with pytest.raises(PoolError, match='not in the pool'):
        load_initial_ids(str(f), IDS)
    f.write_text('000001\n000001\n')
    with pytest.raises(PoolError, match='duplicate'):
        load_initial_ids(str(f), IDS)


def test_load_rejects_other_pool_or_forged_state():
    pool = PoolState(IDS)
    pool.init_random(4, seed=0)
    with pytest.raises(PoolError, match='another pool'):
        PoolState(IDS[:-1]).load_state_dict(pool.state_dict())
    forged = pool.state_dict()
    forged['labelled'] = forged['labelled'][:3]
    with pytest.raises(PoolError, match='do not match'):
        PoolState(IDS).load_state_dict(forged)


def test_failed_save_leaves_previous_file(tmp_path, monkeypatch):
    pool = PoolState(IDS)
    pool.init_random(4, seed=0)
    pool.save(tmp_path)
    before = (tmp_path / 'state.json').read_text()
    pool.add(pool.unlabelled[:1], budget=1)

    def boom(*args):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'replace', boom)
    with pytest.raises(OSError):
        pool.save(tmp_path)
    assert (tmp_path / 'state.json').read_text() == before
    assert not [p for p in os.listdir(tmp_path) if p.endswith('.tmp')]


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 40), data=st.data())
def test_split_invariants_under_random_operations(n, data, tmp_path_factory):
    ids = [f'img{i}' for i in range(n)]
    pool = PoolState(ids)
    pool.init_random(data.draw(st.integers(1, n - 1)), seed=data.draw(st.integers(0, 9)))
    folder = tmp_path_factory.mktemp('pool')
    for _ in range(data.draw(st.integers(0, 6))):
        op = data.draw(st.sampled_from(['add', 'save_load', 'bad_add']))
        before = pool.state_dict()
        if op == 'add' and pool.unlabelled:
            budget = data.draw(st.integers(1, n))
            take = min(budget, len(pool.unlabelled))
            chosen = data.draw(st.permutations(pool.unlabelled))[:take]
            pool.add(chosen, budget=budget)
            assert len(pool.labelled) == len(before['labelled']) + take
        elif op == 'save_load':
            pool.save(folder)
            pool = PoolState.from_state_dict(json.loads((folder / 'state.json').read_text()))
            assert pool.state_dict() == before
        else:
            with pytest.raises(PoolError):
                pool.add(pool.labelled[:1], budget=1)
            assert pool.state_dict() == before
        assert not set(pool.labelled) & set(pool.unlabelled)
        assert sorted(pool.labelled + pool.unlabelled) == sorted(ids)
        assert len(set(pool.labelled)) == len(pool.labelled)
