//! `/language`: the member's choice of locale.

use super::*;

impl Service {
    /// `/language [CODE|auto]`: lists, chooses or clears the member's locale.
    pub(super) async fn on_language(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        choice: Option<String>,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        let available: Vec<Value> = self
            .locales
            .iter()
            .map(|(code, name)| json!({ "tag": code, "name": name }))
            .collect();
        let view = |kind: &str, locale: &str, asked: Option<&str>| {
            let name = self
                .locales
                .iter()
                .find(|(c, _)| c == locale)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| locale.to_string());
            reply(
                Msg::new(
                    "language",
                    json!({ "kind": kind, "current": locale, "current_name": name,
                            "asked": asked, "available": available }),
                )
                .in_locale(locale),
            )
        };
        let Some(asked) = choice else {
            return Ok(vec![view("list", cx.locale(), None)]);
        };
        let codes = self.locale_codes();
        let chosen = if asked.eq_ignore_ascii_case("auto") {
            None
        } else {
            match crate::locale::negotiate(&asked, &codes) {
                Some(c) => Some(c.to_string()),
                None => return Ok(vec![view("unknown", cx.locale(), Some(&asked))]),
            }
        };
        let m = tx.upsert_member(&ev.actor, now).await?;
        tx.set_locale_override(m.id, chosen.as_deref()).await?;
        tracing::info!(
            locale = chosen.as_deref().unwrap_or("auto"),
            "member chose a locale"
        );
        let now_in = self.resolve_locale(chosen.as_deref(), ev.actor.locale.as_deref());
        Ok(vec![view(
            if asked.eq_ignore_ascii_case("auto") {
                "auto"
            } else {
                "set"
            },
            &now_in,
            Some(&asked),
        )])
    }
}
