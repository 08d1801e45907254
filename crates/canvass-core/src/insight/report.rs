//! The report model: everything a summary says, as data. Serialised as the documented JSON
//! format (docs/report-json.md) and rendered to text, Markdown and HTML by `render`.

use serde::Serialize;
use serde_json::Value;

/// A sentence as data: a code the templates turn into words, and its parameters. The engine
/// never writes prose, so teams can reword every statement in `prompts/`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub code: Code,
    pub params: Value,
}

impl Statement {
    pub fn new(code: Code, params: Value) -> Self {
        Self { code, params }
    }
}

/// Defines `Code` with one variant per statement, `Code::ALL` (every variant, in order) and
/// `Code::as_str`, from one list: a variant cannot be left out of `ALL`.
macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// What a statement says: each code is worded by its own branch of
        /// `prompts/insight/statement.hbs` in every shipped locale. Serialised as its code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in template order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as the templates and the JSON name it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }
        }
    };
}

codes! {
    NoAnswers => "no_answers",
    TooFew => "too_few",
    CountsOnly => "counts_only",
    LeaderClear => "leader_clear",
    LeaderUnclear => "leader_unclear",
    Tie => "tie",
    KeepCollecting => "keep_collecting",
    Rating => "rating",
    RatingCounts => "rating_counts",
    Nps => "nps",
    NpsCounts => "nps_counts",
    RobustWinner => "robust_winner",
    NoRobustWinner => "no_robust_winner",
    PairwiseTop => "pairwise_top",
    PairwiseCounts => "pairwise_counts",
    TopTheme => "top_theme",
    NoThemes => "no_themes",
    SegmentTooSmall => "segment_too_small",
    SegmentComplementTooSmall => "segment_complement_too_small",
    CellWithheld => "cell_withheld",
    SelfSelected => "self_selected",
    Directional => "directional",
    NoSegmentClaims => "no_segment_claims",
    StillOpen => "still_open",
    Speeders => "speeders",
    Burst => "burst",
    Drift => "drift",
    Coverage => "coverage",
    CoverageUnknown => "coverage_unknown",
    SmallSegmentsHidden => "small_segments_hidden",
    SmallSample => "small_sample",
    ModerateSample => "moderate_sample",
    NotClear => "not_clear",
    CollectMore => "collect_more",
    NReaches => "n_reaches",
    CheckBurst => "check_burst",
    BurstExplained => "burst_explained",
    KeepTestRunning => "keep_test_running",
    VariantPullsAhead => "variant_pulls_ahead",
    ActOn => "act_on",
    LeaderFalls => "leader_falls",
    FollowUpBetween => "follow_up_between",
    GapOpens => "gap_opens",
    FollowUpPairwise => "follow_up_pairwise",
    MethodsDisagree => "methods_disagree",
    MethodsAgree => "methods_agree",
    ReadDetractors => "read_detractors",
    ScoreMoves => "score_moves",
    CountsOnlyCaveat => "counts_only_caveat",
    ReasonBurst => "reason_burst",
    ReasonDrift => "reason_drift",
    ReasonSpeeders => "reason_speeders",
    ReasonSegmentTooSmall => "reason_segment_too_small",
    ReasonSegmentComplementTooSmall => "reason_segment_complement_too_small",
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the code as written: `assert_eq!(r.headline.code, "tie")`.
impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Directional,
}

/// Sample-size tier, from the written rules in insight-methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// n < 10: counts only, no percentages.
    CountsOnly,
    /// 10..=29
    Directional,
    /// 30..=99: intervals, but no segment claims.
    NoSegmentClaims,
    /// n >= 100
    Full,
}

impl Tier {
    pub fn of(n: usize) -> Self {
        match n {
            0..=9 => Tier::CountsOnly,
            10..=29 => Tier::Directional,
            30..=99 => Tier::NoSegmentClaims,
            _ => Tier::Full,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurveyInfo {
    pub id: String,
    pub title: String,
    pub status: String,
    pub respondents: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionStat {
    pub id: String,
    pub label: String,
    pub count: u64,
    /// Fraction 0..1 of the question's respondents.
    pub share: f64,
    pub ci95: [f64; 2],
    /// Posterior probability that this option is truly the most preferred.
    pub prob_best: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leader {
    pub id: String,
    pub label: String,
    pub runner_up: Option<String>,
    /// Leader share minus runner-up share, with its 95% interval.
    pub margin: f64,
    /// The estimate `margin_ci95` is centred on: the adjusted-Wald difference for a single
    /// choice (shrunk towards 0 in small samples), `margin` itself for a multiple choice.
    pub margin_adjusted: f64,
    pub margin_ci95: [f64; 2],
    pub p_value: f64,
    pub clearly_ahead: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RatingStat {
    pub scale: u8,
    pub mean: f64,
    pub ci95: Option<[f64; 2]>,
    pub top2_share: f64,
    pub top2_ci95: [f64; 2],
    /// Count per scale point, lowest first.
    pub distribution: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NpsStat {
    /// -100..100
    pub score: f64,
    /// The adjusted-Wald estimate `ci95` is centred on; below n = 10 `ci95` may not contain
    /// `score`, which is why the text formats show counts only there.
    pub adjusted_score: f64,
    pub ci95: [f64; 2],
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Points {
    pub option: String,
    pub label: String,
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeadToHead {
    pub a: String,
    pub b: String,
    pub a_over_b: u64,
    pub b_over_a: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankingStat {
    pub borda: Vec<Points>,
    pub schulze_order: Vec<String>,
    pub irv_winner: Option<String>,
    pub plurality_winner: Option<String>,
    pub condorcet_winner: Option<String>,
    /// Set only when every method agrees.
    pub robust_winner: Option<String>,
    pub head_to_head: Vec<HeadToHead>,
    pub partial_ballots: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Strength {
    pub option: String,
    pub label: String,
    pub strength: f64,
    pub comparisons: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairwiseStat {
    pub bradley_terry: Vec<Strength>,
    /// wins[i][j]: times option i beat option j, in option order.
    pub wins: Vec<Vec<u64>>,
    pub judgements: usize,
    /// P(strongest beats the second strongest) under the fitted model.
    pub top_beats_second: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageTestStat {
    pub min_per_variant: usize,
    pub keep_collecting: bool,
    /// For two variants: P(the first variant is preferred by most members).
    pub prob_a_better: Option<f64>,
    pub p_value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeStat {
    pub label: String,
    pub count: usize,
    pub share: f64,
    pub quotes: Vec<String>,
    pub sentiment: String,
    pub sentiment_score: f64,
    /// The locale of the answers the theme was found in.
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhraseStat {
    pub text: String,
    pub respondents: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextStat {
    pub unclassified: usize,
    pub unclassified_share: f64,
    pub phrases: Vec<PhraseStat>,
    pub overall_sentiment: String,
    /// Set when themes, phrases, sentiment and their shares come from a random sample of the
    /// answers (more than `THEME_SAMPLE`); omitted when every answer was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<TextSample>,
}

/// The sample an open-text question's themes were found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TextSample {
    /// Answers read for themes.
    pub analysed: usize,
    /// Answers to the question.
    pub answers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentFinding {
    pub segment: String,
    pub n: usize,
    pub test: &'static str,
    pub p_value: f64,
    /// Benjamini-Hochberg adjusted over every test in the report.
    pub p_adjusted: f64,
    /// Adjusted p <= q and the segment is large enough for claims.
    pub differs: bool,
    pub cramers_v: Option<f64>,
    /// The option where the segment departs most from everyone else.
    pub largest_gap: Option<Gap>,
    /// Every option (or category) tested, segment against everyone else.
    pub options: Vec<Gap>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gap {
    pub option: String,
    pub segment_share: f64,
    pub others_share: f64,
    /// Two-proportion z test of this option, segment against everyone else.
    pub p_value: f64,
    pub p_adjusted: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub since: String,
    pub metric: &'static str,
    pub before: f64,
    pub after: f64,
    pub difference: f64,
    pub p_value: Option<f64>,
    pub within_noise: bool,
}

/// A question's statistics, one shape per question type: a question has exactly the fields
/// of its type. Serialised flat into the question as `options` and `leader` (with
/// `message_test` for a message test), `rating`, `nps`, `ranking`, `pairwise`, or `themes`
/// and `text_summary`.
#[derive(Debug, Clone, PartialEq)]
pub enum QuestionDetail {
    /// No statistic: no answers yet, or withheld from a segment report.
    None,
    /// Single and multiple choice.
    Choice {
        options: Vec<OptionStat>,
        leader: Option<Leader>,
    },
    MessageTest {
        options: Vec<OptionStat>,
        leader: Option<Leader>,
        message_test: MessageTestStat,
    },
    Rating(RatingStat),
    Nps(NpsStat),
    Ranking(RankingStat),
    Pairwise(PairwiseStat),
    OpenText {
        themes: Vec<ThemeStat>,
        summary: TextStat,
    },
}

impl QuestionDetail {
    /// The options of a choice or message-test question.
    pub fn options(&self) -> Option<&[OptionStat]> {
        match self {
            Self::Choice { options, .. } | Self::MessageTest { options, .. } => Some(options),
            _ => None,
        }
    }

    pub fn leader(&self) -> Option<&Leader> {
        match self {
            Self::Choice { leader, .. } | Self::MessageTest { leader, .. } => leader.as_ref(),
            _ => None,
        }
    }

    pub fn message_test(&self) -> Option<&MessageTestStat> {
        match self {
            Self::MessageTest { message_test, .. } => Some(message_test),
            _ => None,
        }
    }

    pub fn rating(&self) -> Option<&RatingStat> {
        match self {
            Self::Rating(r) => Some(r),
            _ => None,
        }
    }

    pub fn nps(&self) -> Option<&NpsStat> {
        match self {
            Self::Nps(n) => Some(n),
            _ => None,
        }
    }

    pub fn ranking(&self) -> Option<&RankingStat> {
        match self {
            Self::Ranking(r) => Some(r),
            _ => None,
        }
    }

    pub fn pairwise(&self) -> Option<&PairwiseStat> {
        match self {
            Self::Pairwise(p) => Some(p),
            _ => None,
        }
    }

    pub fn themes(&self) -> Option<&[ThemeStat]> {
        match self {
            Self::OpenText { themes, .. } => Some(themes),
            _ => None,
        }
    }

    pub fn text_summary(&self) -> Option<&TextStat> {
        match self {
            Self::OpenText { summary, .. } => Some(summary),
            _ => None,
        }
    }
}

/// The fields of the documented JSON (docs/report-json.md), in their order there.
impl Serialize for QuestionDetail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            Self::None => {}
            Self::Choice { options, leader } => {
                m.serialize_entry("options", options)?;
                if let Some(l) = leader {
                    m.serialize_entry("leader", l)?;
                }
            }
            Self::MessageTest {
                options,
                leader,
                message_test,
            } => {
                m.serialize_entry("options", options)?;
                if let Some(l) = leader {
                    m.serialize_entry("leader", l)?;
                }
                m.serialize_entry("message_test", message_test)?;
            }
            Self::Rating(r) => m.serialize_entry("rating", r)?,
            Self::Nps(n) => m.serialize_entry("nps", n)?,
            Self::Ranking(r) => m.serialize_entry("ranking", r)?,
            Self::Pairwise(p) => m.serialize_entry("pairwise", p)?,
            Self::OpenText { themes, summary } => {
                m.serialize_entry("themes", themes)?;
                m.serialize_entry("text_summary", summary)?;
            }
        }
        m.end()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuestionReport {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
    pub n: usize,
    /// In a segment report: too few of the segment, or of everyone else, answered this
    /// question to show it (`segments.min_size`); `n` is 0 and no statistic is given.
    pub withheld: bool,
    /// The statistics of the question's type; in the JSON, its fields (`options`, `leader`,
    /// `rating`, ...) stand beside `n` as before.
    #[serde(flatten)]
    pub detail: QuestionDetail,
    pub segments: Vec<SegmentFinding>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    pub finding: Statement,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    pub tier: Tier,
    pub respondents: usize,
    pub speeders: usize,
    pub new_members: usize,
    /// Respondents flagged as a burst of accounts new to the community.
    pub burst_flagged: usize,
    /// Headline share without the flagged answers, when any were flagged.
    pub headline_without_flagged: Option<f64>,
    /// The option that leads without the flagged answers.
    pub leader_without_flagged: Option<String>,
    pub drift_p_value: Option<f64>,
    pub drift: bool,
    /// Respondents over members reached, where the platform tells.
    pub coverage: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub next_step: Statement,
    pub would_change: Statement,
}

/// The optional model-written narrative, as it stands after the checker. The engine itself
/// always leaves it `Off`; `narrative` fills it in outside any transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Narrative {
    /// No `[narrative]` section: nothing was asked.
    #[default]
    Off,
    /// The model's text passed every check and is shown, marked as model-written.
    Checked { text: String, model: String },
    /// Not shown: the endpoint failed or the text failed a check. The reason is for the
    /// product team and the log, never for members.
    Dropped { reason: String },
}

/// The result of one narrative request, with what was checked when it passed. Made by
/// `narrative` (as `narrative::Outcome`), shown by `render`: here, so neither imports the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrativeOutcome {
    pub narrative: Narrative,
    /// Stable code: `shown`, a check failure code, `timeout`, `http_status`, `unreachable`,
    /// `bad_reply`, `nothing_to_narrate`.
    pub code: &'static str,
    pub checked: Option<NarrativePassed>,
}

/// What passed the narrative check: how many numbers and quotes were checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NarrativePassed {
    pub numbers: usize,
    pub quotes: usize,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub survey: SurveyInfo,
    pub segment_filter: Option<String>,
    pub questions: Vec<QuestionReport>,
    pub quality: Quality,
    pub confidence: Confidence,
    pub confidence_reasons: Vec<Statement>,
    pub headline: Statement,
    pub recommendation: Recommendation,
    pub caveats: Vec<Statement>,
    pub fdr_q: f64,
    pub tests: usize,
    /// `segments.min_size`: no group (segment, its complement, or a segment's answers to one
    /// question) smaller than this is shown.
    pub min_segment: usize,
    /// Added to the JSON by `render::report` in its documented shape.
    #[serde(skip)]
    pub narrative: Narrative,
}
