//! The changing operations: purchase and extension (which charge), whitelist, credentials,
//! country, rotation.

use serde_json::Value;

use super::json::available_countries;
use super::{Ctx, Reply, body_str, error, reply_service, service_id, service_mut};
use crate::mock::state::Service;

pub(super) fn purchase(ctx: &mut Ctx<'_>) -> Reply {
    let service_type = body_str(ctx, "type").unwrap_or_default().to_string();
    let plan_id = body_str(ctx, "plan_id").unwrap_or_default();
    let Some(plan) = ctx.state.plan(plan_id).cloned() else {
        return error(
            400,
            "invalid_plan_id",
            format!("plan {plan_id} does not exist"),
        );
    };
    if plan.service_type != service_type {
        return error(
            400,
            "invalid_plan_id",
            format!(
                "plan {plan_id} is a {} plan, not {service_type}",
                plan.service_type
            ),
        );
    }
    let country = body_str(ctx, "country")
        .unwrap_or("mixed")
        .to_ascii_lowercase();
    if !available_countries(&service_type).contains(&country.as_str()) {
        return error(
            400,
            "country_unavailable",
            format!("country {country} is not available for {service_type}"),
        );
    }
    let rotation = body_str(ctx, "rotation").unwrap_or("instant").to_string();
    if service_type == "ipv4_rotating" && rotation != "instant" {
        return error(
            400,
            "unsupported_for_type",
            "ipv4_rotating rotation is always instant",
        );
    }
    if let Err(refused) = charge(ctx, plan.price) {
        return refused;
    }
    let id = ctx
        .state
        .provision(ctx.account, &plan, country, rotation, ctx.now);
    reply_service(ctx, id)
}

/// Charges `price` RUB to the caller's account, or refuses with 402 `insufficient_balance`
/// (purchase and extend both charge the plan price).
fn charge(ctx: &mut Ctx<'_>, price: i64) -> Result<(), Reply> {
    let account = &mut ctx.state.accounts[ctx.account];
    if account.balance < price {
        return Err(error(
            402,
            "insufficient_balance",
            format!(
                "balance {} RUB is below the plan price {price} RUB",
                account.balance
            ),
        ));
    }
    account.balance -= price;
    Ok(())
}

pub(super) fn extend_service(ctx: &mut Ctx<'_>) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let plan_id = service_mut(ctx, id).plan_id.clone();
    let Some(plan) = ctx.state.plan(&plan_id).cloned() else {
        return error(500, "server_error", "the service's plan is gone");
    };
    if let Err(refused) = charge(ctx, plan.price) {
        return refused;
    }
    let now = ctx.now;
    let s = service_mut(ctx, id);
    s.expires_at = s.expires_at.max(now) + chrono::Duration::days(i64::from(plan.days));
    reply_service(ctx, id)
}

pub(super) fn replace_whitelist(ctx: &mut Ctx<'_>) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let body = ctx.body.cloned().unwrap_or(Value::Null);
    let ips: Vec<String> = body["whitelisted_ips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if ips.len() > crate::types::MAX_WHITELIST {
        let max = crate::types::MAX_WHITELIST;
        return error(
            400,
            "too_many_ips",
            format!("at most {max} whitelisted IPs"),
        );
    }
    if let Some(bad) = ips
        .iter()
        .find(|ip| ip.parse::<std::net::Ipv4Addr>().is_err())
    {
        return error(400, "invalid_ip", format!("{bad} is not an IPv4 address"));
    }
    let labels: Option<Vec<String>> = body.get("labels").and_then(Value::as_array).map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    });
    if let Some(l) = &labels
        && l.len() != ips.len()
    {
        return error(
            400,
            "invalid_request",
            format!(
                "labels has {} entries, whitelisted_ips has {}",
                l.len(),
                ips.len()
            ),
        );
    }
    let entries = ips
        .into_iter()
        .enumerate()
        .map(|(i, ip)| (ip, labels.as_ref().map(|l| l[i].clone())))
        .collect();
    service_mut(ctx, id).whitelist = entries;
    reply_service(ctx, id)
}

pub(super) fn regenerate_credentials(ctx: &mut Ctx<'_>) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let (login, password) = ctx.state.new_credentials();
    let s = service_mut(ctx, id);
    s.login = login;
    s.password = password;
    reply_service(ctx, id)
}

pub(super) fn change_country(ctx: &mut Ctx<'_>) -> Reply {
    let country = body_str(ctx, "country")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let refusal = "ipv4_rotating always routes through the nl gateway";
    change_ipv6(ctx, refusal, |s| {
        if !available_countries(&s.service_type).contains(&country.as_str()) {
            return Err(error(
                400,
                "country_unavailable",
                format!("country {country} is not available for {}", s.service_type),
            ));
        }
        s.country = country;
        Ok(())
    })
}

pub(super) fn change_rotation(ctx: &mut Ctx<'_>) -> Reply {
    let rotation = body_str(ctx, "rotation").unwrap_or_default().to_string();
    let refusal = "ipv4_rotating rotation is instant by design";
    change_ipv6(ctx, refusal, |s| {
        s.rotation = rotation;
        Ok(())
    })
}

/// Applies `change` to the path's service and answers with it; an IPv4 service is refused
/// (`unsupported_for_type`, saying `ipv4_refusal`).
fn change_ipv6(
    ctx: &mut Ctx<'_>,
    ipv4_refusal: &str,
    change: impl FnOnce(&mut Service) -> Result<(), Reply>,
) -> Reply {
    let id = match service_id(ctx) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let s = service_mut(ctx, id);
    if s.service_type == "ipv4_rotating" {
        return error(400, "unsupported_for_type", ipv4_refusal);
    }
    match change(s) {
        Ok(()) => reply_service(ctx, id),
        Err(refused) => refused,
    }
}
