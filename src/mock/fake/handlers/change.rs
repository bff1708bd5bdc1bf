//! The changing operations: purchase and extension (which charge), whitelist, credentials,
//! country, rotation.

use serde_json::Value;

use super::ctx::{Ctx, Reply};
use crate::mock::fake::model::{Service, sold_in};
use crate::types::{Country, ErrorCode, MAX_WHITELIST, PlanId, Rotation, ServiceType};

/// A country as the request names it (any case), or `mixed` when it names none.
fn country_of(ctx: &Ctx<'_>) -> Country {
    ctx.body::<String>("country")
        .and_then(|c| Country::new(c.to_ascii_lowercase()).ok())
        .unwrap_or(Country::MIXED)
}

fn refused_country(country: &Country, t: &ServiceType) -> Reply {
    Reply::error(
        ErrorCode::CountryUnavailable,
        format!("country {country} is not available for {t}"),
    )
}

pub(super) fn purchase(ctx: &mut Ctx<'_>) -> Reply {
    let service_type = ctx
        .body::<ServiceType>("type")
        .unwrap_or_else(|| ServiceType::parse(""));
    let plan_id = ctx.body::<String>("plan_id").unwrap_or_default();
    let plan = PlanId::new(plan_id.as_str())
        .ok()
        .and_then(|id| ctx.state.plan(&id).cloned());
    let Some(plan) = plan else {
        return Reply::error(
            ErrorCode::InvalidPlanId,
            format!("plan {plan_id} does not exist"),
        );
    };
    if plan.service_type != service_type {
        return Reply::error(
            ErrorCode::InvalidPlanId,
            format!(
                "plan {plan_id} is a {} plan, not {service_type}",
                plan.service_type
            ),
        );
    }
    let country = country_of(ctx);
    if !sold_in(&service_type, &country) {
        return refused_country(&country, &service_type);
    }
    let rotation = ctx
        .body::<Rotation>("rotation")
        .unwrap_or(Rotation::INSTANT);
    if service_type == ServiceType::Ipv4Rotating && rotation != Rotation::INSTANT {
        return Reply::error(
            ErrorCode::UnsupportedForType,
            format!("{service_type} rotation is always {}", Rotation::INSTANT),
        );
    }
    if let Err(refused) = charge(ctx, plan.price) {
        return refused;
    }
    let id = ctx
        .state
        .provision(ctx.account, &plan, country, rotation, ctx.now);
    ctx.reply_service(id)
}

/// Charges `price` RUB to the caller's account, or refuses with 402 `insufficient_balance`
/// (purchase and extend both charge the plan price).
fn charge(ctx: &mut Ctx<'_>, price: i64) -> Result<(), Reply> {
    let account = &mut ctx.state.accounts[ctx.account];
    if account.balance < price {
        return Err(Reply::error(
            ErrorCode::InsufficientBalance,
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
    let id = match ctx.service_id() {
        Ok(id) => id,
        Err(r) => return r,
    };
    let plan_id = ctx.service_mut(id).plan_id.clone();
    let Some(plan) = ctx.state.plan(&plan_id).cloned() else {
        return Reply::error(ErrorCode::ServerError, "the service's plan is gone");
    };
    if let Err(refused) = charge(ctx, plan.price) {
        return refused;
    }
    let now = ctx.now;
    let s = ctx.service_mut(id);
    s.expires_at = s.expires_at.max(now) + chrono::Duration::days(i64::from(plan.days));
    ctx.reply_service(id)
}

pub(super) fn replace_whitelist(ctx: &mut Ctx<'_>) -> Reply {
    let id = match ctx.service_id() {
        Ok(id) => id,
        Err(r) => return r,
    };
    let strings = |name: &str| -> Option<Vec<String>> {
        let list = ctx.body::<Vec<Value>>(name)?;
        Some(
            list.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        )
    };
    let ips = strings("whitelisted_ips").unwrap_or_default();
    let labels = strings("labels");
    if ips.len() > MAX_WHITELIST {
        return Reply::error(
            ErrorCode::TooManyIps,
            format!("at most {MAX_WHITELIST} whitelisted IPs"),
        );
    }
    if let Some(bad) = ips
        .iter()
        .find(|ip| ip.parse::<std::net::Ipv4Addr>().is_err())
    {
        return Reply::error(
            ErrorCode::InvalidIp,
            format!("{bad} is not an IPv4 address"),
        );
    }
    if let Some(l) = &labels
        && l.len() != ips.len()
    {
        return Reply::error(
            ErrorCode::InvalidRequest,
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
    ctx.service_mut(id).whitelist = entries;
    ctx.reply_service(id)
}

pub(super) fn regenerate_credentials(ctx: &mut Ctx<'_>) -> Reply {
    let id = match ctx.service_id() {
        Ok(id) => id,
        Err(r) => return r,
    };
    let (login, password) = ctx.state.new_credentials();
    let s = ctx.service_mut(id);
    s.login = login;
    s.password = password;
    ctx.reply_service(id)
}

pub(super) fn change_country(ctx: &mut Ctx<'_>) -> Reply {
    let country = country_of(ctx);
    let refusal = format!(
        "{} always routes through the nl gateway",
        ServiceType::Ipv4Rotating
    );
    change_ipv6(ctx, &refusal, |s| {
        if !sold_in(&s.service_type, &country) {
            return Err(refused_country(&country, &s.service_type));
        }
        s.country = country;
        Ok(())
    })
}

pub(super) fn change_rotation(ctx: &mut Ctx<'_>) -> Reply {
    let rotation = ctx
        .body::<Rotation>("rotation")
        .unwrap_or(Rotation::INSTANT);
    let refusal = format!(
        "{} rotation is {} by design",
        ServiceType::Ipv4Rotating,
        Rotation::INSTANT
    );
    change_ipv6(ctx, &refusal, |s| {
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
    let id = match ctx.service_id() {
        Ok(id) => id,
        Err(r) => return r,
    };
    let s = ctx.service_mut(id);
    if s.service_type == ServiceType::Ipv4Rotating {
        return Reply::error(ErrorCode::UnsupportedForType, ipv4_refusal);
    }
    match change(s) {
        Ok(()) => ctx.reply_service(id),
        Err(refused) => refused,
    }
}
