//! Anonymity, /mydata and /forgetme.

use crate::support::*;

/// Whether any file of the database (main, WAL, shared memory) contains `needle`.
fn db_contains(dir: &std::path::Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().any(|e| {
        let bytes = std::fs::read(e.unwrap().path()).unwrap_or_default();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
}

#[tokio::test]
async fn an_anonymous_survey_leaves_no_platform_id_in_the_database() {
    let t = spawn_app().await;
    let user = "zq7731-unique-person";
    let p = payloads(&t.post("secret").await);
    assert!(
        t.text(&t.tap(user, group(), &p[0]).await)
            .starts_with("Saved")
    );
    // A second vote replaces the first: the salted hash is stable within the survey.
    assert!(
        t.text(&t.tap(user, group(), &p[1]).await)
            .starts_with("Changed")
    );
    // And a private anonymous survey, with free text.
    let out = t.say(user, dm(user), "/start secret-deep").await;
    assert!(t.text(&out).contains("anonymous"), "{}", t.text(&out));
    t.tap(user, dm(user), &payloads(&last_keyboard(&out))[3])
        .await;
    let out = t.say(user, dm(user), "fine, thanks").await;
    assert!(
        t.text(&out).contains("saved anonymously"),
        "{}",
        t.text(&out)
    );
    let _ = out;

    assert_eq!(t.current("secret", "vote").await.len(), 1);
    assert_eq!(t.current("secret-deep", "note").await.len(), 1);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM members").await, 0);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM respondents WHERE member_id IS NOT NULL")
            .await,
        0
    );
    // Two surveys, two unlinkable keys.
    assert_eq!(
        t.scalar("SELECT COUNT(DISTINCT anon_key) FROM respondents")
            .await,
        2
    );
    let dir = t.dir.path().to_path_buf();
    t.app.store.close().await;
    assert!(
        !db_contains(&dir, user),
        "platform id found in the database files"
    );
    assert!(
        !db_contains(&dir, &format!("{user} display")),
        "display name found"
    );
}

#[tokio::test]
async fn mydata_shows_and_forgetme_deletes_what_is_stored() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    t.tap("alice", group(), &p[0]).await;
    t.tap("alice", group(), &p[1]).await;
    let s = payloads(&t.post("secret").await);
    t.tap("alice", group(), &s[0]).await;
    t.tap("bob", group(), &p[2]).await;

    let out = t.say("alice", group(), "/mydata").await;
    assert!(
        matches!(
            out.first(),
            Some(canvass::core::event::Outbound::Private { .. })
        ),
        "sent privately"
    );
    let text = t.text(&out);
    assert!(
        text.contains("console user alice (alice display)"),
        "{text}"
    );
    assert!(text.contains("Lunch / food: Pizza"), "{text}");
    assert!(text.contains("Lunch / food: Sushi"), "{text}");
    assert!(text.contains("replaced"), "{text}");
    assert!(
        !text.contains("Secret ballot"),
        "anonymous answers are not linked: {text}"
    );

    let out = t.say("alice", dm("alice"), "/forgetme").await;
    let text = t.text(&out);
    assert!(text.contains("Deleted 2 answers"), "{text}");
    assert!(text.contains("Lunch: 2 answers"), "{text}");
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM members WHERE platform_user_id = 'alice'")
            .await,
        0
    );
    assert_eq!(
        t.current("lunch", "food").await,
        vec![r#"{"kind":"choice","value":"salad"}"#]
    );
    assert_eq!(
        t.current("secret", "vote").await.len(),
        1,
        "anonymous vote stays"
    );
    let out = t.say("alice", dm("alice"), "/mydata").await;
    assert!(t.text(&out).contains("canvass stores nothing about you"));
    let out = t.say("alice", dm("alice"), "/forgetme").await;
    assert!(t.text(&out).contains("nothing to delete"));
}
