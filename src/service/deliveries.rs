//! The digest's bookkeeping writes (`digest::ledger`) as the single writer applies them, each in
//! its own savepoint of the group-commit transaction (`Ledger for Service` is in `writer.rs`).

use crate::digest::ledger::{Write, Written};
use crate::store::{NewPart, StoreError, Tx};

/// Runs a digest write in the writer's open transaction.
pub(super) async fn apply(w: &Write, tx: &mut Tx) -> Result<Written, StoreError> {
    Ok(match w {
        Write::Interrupted { now } => Written::Count(tx.mark_interrupted_deliveries(*now).await?),
        Write::Installed { now } => Written::At(tx.installed_at(*now).await?),
        Write::Plan {
            period,
            slot,
            destinations,
            late,
            now,
        } => {
            tx.plan_deliveries(period, *slot, destinations, *late, *now)
                .await?;
            Written::Done
        }
        Write::Fail {
            period,
            destination,
            error,
            retry_at,
        } => {
            tx.fail_delivery(period, destination, error, *retry_at)
                .await?;
            Written::Done
        }
        Write::Claim {
            period,
            destination,
            parts,
        } => {
            let new: Vec<NewPart<'_>> = parts
                .iter()
                .map(|p| NewPart {
                    label: &p.label,
                    body: p.body.as_deref(),
                    image: p.image.as_deref(),
                })
                .collect();
            Written::Claimed(tx.claim_delivery(period, destination, &new).await?)
        }
        Write::ClaimPart {
            period,
            destination,
            seq,
        } => Written::Claimed(tx.claim_part(period, destination, *seq).await?),
        Write::FinishPart {
            period,
            destination,
            seq,
            outcome,
            now,
        } => {
            tx.finish_part(period, destination, *seq, outcome, *now)
                .await?;
            Written::Done
        }
        Write::Settle {
            period,
            destination,
            retry_at,
            now,
        } => {
            let (status, error) = tx
                .settle_delivery(period, destination, *retry_at, *now)
                .await?;
            Written::Settled(status, error)
        }
    })
}
