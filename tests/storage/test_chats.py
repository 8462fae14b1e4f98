"""Chat rows: first contact, concurrent creation, followed tags, migration to a supergroup."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage import chats
from storage.filters import get_filters, set_tag_muted, update_filters
from storage.models import Chat
from tests.factories import upsert_tag


def _ensure(session: Session, chat_id: int) -> Chat:
    return chats.ensure_chat(
        session=session,
        chat_id=chat_id,
        chat_type="group",
        title="AI club",
        language="zh",
        timezone="Asia/Shanghai",
        digest_time="08:00",
        article_count=5,
    )


def test_two_updates_from_a_new_chat_create_it_once(any_engine: Engine) -> None:
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def first_contact() -> None:
        try:
            with Session(any_engine) as session:
                barrier.wait()
                _ensure(session, -100)
                session.commit()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=first_contact) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Session(any_engine) as session:
        rows = session.exec(select(Chat)).all()
    assert [(c.id, c.language, c.timezone, c.active) for c in rows] == [
        (-100, "zh", "Asia/Shanghai", True)
    ]


def test_following_twice_is_harmless_and_migration_keeps_tags(any_engine: Engine) -> None:
    with Session(any_engine) as session:
        _ensure(session, -1)
        tag = upsert_tag(session=session, slug="research", names={"en": "Research"})
        session.flush()
        assert tag.id is not None
        for _ in range(2):
            chats.set_tag_followed(session=session, chat_id=-1, tag_id=tag.id, followed=True)
        session.commit()
        assert chats.followed_tag_ids(session=session, chat_id=-1) == {tag.id}
        update_filters(session=session, chat_id=-1, keywords=["crypto"], min_score=40)
        set_tag_muted(session=session, chat_id=-1, tag_id=tag.id, muted=True)
        session.commit()
        chats.migrate_chat(session=session, old_id=-1, new_id=-1001)
        session.commit()
        moved_filters = get_filters(session=session, chat_id=-1001)  # filters move too
        assert moved_filters.keywords == ("crypto",) and moved_filters.min_score == 40
        assert moved_filters.muted_tag_ids == {tag.id}
        assert chats.get_chat(session=session, chat_id=-1) is None
        moved = chats.get_chat(session=session, chat_id=-1001)
        assert moved is not None and moved.type == "supergroup" and moved.language == "zh"
        assert chats.followed_tag_ids(session=session, chat_id=-1001) == {tag.id}
        chats.set_tag_followed(session=session, chat_id=-1001, tag_id=tag.id, followed=False)
        session.commit()
        assert chats.followed_tag_ids(session=session, chat_id=-1001) == set()
