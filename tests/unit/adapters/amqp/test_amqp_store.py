"""ProcessedStore: results kept by request id across restarts; parking of unroutable results."""

from __future__ import annotations

from pathlib import Path

from adapters.amqp.store import ProcessedStore, StoredResult


def _result(key: str, body: bytes = b"{}") -> StoredResult:
    return StoredResult(key, "ab" * 32, body, "application/json", {"x-bridgeway-records": 1})


def test_a_saved_result_is_found_again_after_reopening_with_its_first_bytes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = ProcessedStore(path, ttl_s=3600)
    store.save([_result("a", b"first")])
    store.save([_result("a", b"second")])  # a later result never replaces the first
    store.close()
    again = ProcessedStore(path, ttl_s=3600)
    assert again.lookup(["a", "missing"]) == {"a": _result("a", b"first")}


def test_parked_results_are_listed_oldest_first_until_unparked(tmp_path: Path) -> None:
    store = ProcessedStore(tmp_path / "s.sqlite3", ttl_s=3600)
    store.save([_result("a"), _result("b"), _result("c")])
    store.park("a", "x", "k", "corr-a")
    store.park("b", "x", "k", None)
    assert [p.result.key for p in store.parked(limit=10)] == ["a", "b"]
    assert [p.result.key for p in store.parked(limit=10, exclude={"a"})] == ["b"]
    [first] = store.parked(limit=1)
    assert (first.exchange, first.routing_key, first.correlation_id) == ("x", "k", "corr-a")
    store.unpark("a")
    assert store.count_parked() == 1


def test_pruning_forgets_old_results_but_never_parked_ones(tmp_path: Path) -> None:
    store = ProcessedStore(tmp_path / "s.sqlite3", ttl_s=1e-9)
    store.save([_result("old"), _result("parked")])
    store.park("parked", "", "q", None)
    assert store.prune() == 1
    assert list(store.lookup(["old", "parked"])) == ["parked"]
