//! The digest schedule: "mon 09:00" or cron "0 9 * * 1" in an IANA time zone. Slots are local
//! times, so a daylight-saving change never moves the hour members and the team see.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "schedule {0:?} is not understood: use \"mon 09:00\", \"daily 18:30\" or cron \"0 9 * * 1\""
    )]
    Syntax(String),
    #[error("time zone {0:?} is not an IANA name such as Europe/Berlin")]
    Zone(String),
}

/// A weekly or daily local time in a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// None means every day.
    pub weekday: Option<Weekday>,
    pub time: NaiveTime,
    pub zone: Tz,
}

fn weekday(s: &str) -> Option<Option<Weekday>> {
    Some(Some(match s.to_ascii_lowercase().as_str() {
        "mon" | "monday" | "1" => Weekday::Mon,
        "tue" | "tuesday" | "2" => Weekday::Tue,
        "wed" | "wednesday" | "3" => Weekday::Wed,
        "thu" | "thursday" | "4" => Weekday::Thu,
        "fri" | "friday" | "5" => Weekday::Fri,
        "sat" | "saturday" | "6" => Weekday::Sat,
        "sun" | "sunday" | "0" | "7" => Weekday::Sun,
        "daily" | "day" | "*" => return Some(None),
        _ => return None,
    }))
}

impl Schedule {
    pub fn parse(spec: &str, zone: &str) -> Result<Self, ScheduleError> {
        let zone: Tz = zone
            .parse()
            .map_err(|_| ScheduleError::Zone(zone.to_string()))?;
        let bad = || ScheduleError::Syntax(spec.to_string());
        let parts: Vec<&str> = spec.split_whitespace().collect();
        let (weekday, time) = match parts.as_slice() {
            [day, hm] => (
                weekday(day).ok_or_else(bad)?,
                NaiveTime::parse_from_str(hm, "%H:%M").map_err(|_| bad())?,
            ),
            [min, hour, "*", "*", dow] => {
                let (m, h): (u32, u32) = (
                    min.parse().map_err(|_| bad())?,
                    hour.parse().map_err(|_| bad())?,
                );
                (
                    weekday(dow).ok_or_else(bad)?,
                    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(bad)?,
                )
            }
            _ => return Err(bad()),
        };
        Ok(Self {
            weekday,
            time,
            zone,
        })
    }

    /// The slot on a local date, if that date is a schedule day. A local time that does not
    /// exist (skipped by a DST change) moves to the first valid minute after it.
    fn slot_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        if self.weekday.is_some_and(|w| date.weekday() != w) {
            return None;
        }
        let mut local = date.and_time(self.time);
        for _ in 0..180 {
            if let Some(t) = self.zone.from_local_datetime(&local).earliest() {
                return Some(t.with_timezone(&Utc));
            }
            local += Duration::minutes(1);
        }
        None
    }

    /// The latest slot at or before `now`.
    pub fn latest(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let today = now.with_timezone(&self.zone).date_naive();
        (0..8)
            .filter_map(|back| today.checked_sub_signed(Duration::days(back)))
            .filter_map(|d| self.slot_on(d))
            .find(|t| *t <= now)
    }

    /// The first slot strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let day = t.with_timezone(&self.zone).date_naive();
        (0..9)
            .filter_map(|fwd| day.checked_add_signed(Duration::days(fwd)))
            .filter_map(|d| self.slot_on(d))
            .find(|s| *s > t)
    }

    /// The slot before `slot` (the start of the period `slot` closes).
    pub fn previous(&self, slot: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.latest(slot - Duration::seconds(1))
    }

    /// Daily or weekly: what the digest calls its period.
    pub fn cadence(&self) -> crate::insight::digest::Cadence {
        match self.weekday {
            None => crate::insight::digest::Cadence::Daily,
            Some(_) => crate::insight::digest::Cadence::Weekly,
        }
    }

    /// The period key of a slot, in local time, stable across restarts.
    pub fn period_key(&self, slot: DateTime<Utc>) -> String {
        slot.with_timezone(&self.zone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_both_forms_and_rejects_nonsense() {
        let a = Schedule::parse("mon 09:00", "Europe/Berlin").unwrap();
        let b = Schedule::parse("0 9 * * 1", "Europe/Berlin").unwrap();
        assert_eq!(a, b);
        assert!(
            Schedule::parse("daily 18:30", "UTC")
                .unwrap()
                .weekday
                .is_none()
        );
        assert!(matches!(
            Schedule::parse("mon 25:00", "UTC"),
            Err(ScheduleError::Syntax(_))
        ));
        assert!(matches!(
            Schedule::parse("mon 09:00", "Mars/Base"),
            Err(ScheduleError::Zone(_))
        ));
    }

    #[test]
    fn the_local_hour_survives_daylight_saving() {
        // Berlin moves to summer time on Sunday 2026-03-29.
        let s = Schedule::parse("mon 09:00", "Europe/Berlin").unwrap();
        let before = s.latest(utc("2026-03-25T00:00:00Z")).unwrap();
        assert_eq!(before, utc("2026-03-23T08:00:00Z"), "09:00 CET");
        let after = s.next_after(before).unwrap();
        assert_eq!(after, utc("2026-03-30T07:00:00Z"), "09:00 CEST");
        assert_eq!(s.period_key(after), "2026-03-30 09:00 CEST");
        // And back in autumn (2026-10-25).
        let autumn = s.next_after(utc("2026-10-20T00:00:00Z")).unwrap();
        assert_eq!(autumn, utc("2026-10-26T08:00:00Z"));
        assert_eq!(s.previous(autumn), Some(utc("2026-10-19T07:00:00Z")));
    }

    #[test]
    fn a_skipped_local_time_moves_forward() {
        // 02:30 does not exist in Berlin on 2026-03-29.
        let s = Schedule::parse("sun 02:30", "Europe/Berlin").unwrap();
        let t = s.next_after(utc("2026-03-28T00:00:00Z")).unwrap();
        assert_eq!(
            t,
            utc("2026-03-29T01:00:00Z"),
            "03:00 CEST, the first valid minute"
        );
    }
}
