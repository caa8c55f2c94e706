//! `herossh config resolve`: the effective configuration for a destination, printed exactly
//! like the installed `ssh -G` prints it (every line, its order and forms), with `--explain`
//! naming the file and line of every value.

use serde_json::{Map, Value, json};

use super::Ctx;
use crate::cli::{ConfigAction, ConfigArgs, ResolveArgs};
use crate::error::Result;
use crate::sshconfig::{self, ResolveOptions};

pub fn run(ctx: &Ctx, args: &ConfigArgs) -> Result<()> {
    match &args.action {
        ConfigAction::Resolve(r) => resolve(ctx, r),
    }
}

fn resolve(ctx: &Ctx, args: &ResolveArgs) -> Result<()> {
    let opts = ResolveOptions {
        config: args.config.clone(),
        user: args.user.clone(),
        port: args.port,
        allow_exec: args.allow_exec,
        // Keeps the parsed files alive to the end, see below.
        cache: Some(Default::default()),
        ..Default::default()
    };
    let dest = crate::openssh::Destination::parse(&args.host)?;
    let resolved = sshconfig::resolve_destination(&dest, &opts)?;
    // The process ends right after the answer is printed: handing every line of a big config
    // back to the allocator, one at a time, would cost more than reading it did.
    let resolved = std::mem::ManuallyDrop::new(resolved);
    std::mem::forget(opts);
    for note in &resolved.notes {
        ctx.ui.warn(note.clone());
    }
    for (path, why) in &resolved.unreadable {
        ctx.ui.warn(format!(
            "{} cannot be read ({why}); ssh skips it too, and so does this answer",
            crate::paths::display_tilde(path)
        ));
    }
    for p in &resolved.pending_exec {
        ctx.ui.warn(format!(
            "the result depends on `Match exec {}` ({}:{}), which was not run and counted as \
             not matching; pass --allow-exec to run it",
            p.command,
            p.origin.file.display(),
            p.origin.line
        ));
    }
    if ctx.ui.json {
        return ctx.ui.emit_json(&to_json(&resolved));
    }
    // One write for the whole answer (ssh -G prints some 80 lines).
    let mut text = String::new();
    for (k, v, origin) in resolved.lines() {
        if !text.is_empty() {
            text.push('\n');
        }
        if args.explain {
            let from = match origin {
                Some(o) if o.line == 0 => o.file.display().to_string(),
                Some(o) => format!("{}:{}", o.file.display(), o.line),
                None => "(default)".to_string(),
            };
            // The value stays as `ssh -G` prints it; the file name is herossh's addition.
            text.push_str(&format!("{k} {v}\t# {}", crate::ui::untrusted(&from)));
        } else {
            text.push_str(&format!("{k} {v}"));
        }
    }
    if !text.is_empty() {
        ctx.ui.out(text);
    }
    Ok(())
}

/// `{"host", "options": {keyword: value or [values]}, "origins": [...], "pending_exec": [...]}`.
fn to_json(r: &sshconfig::Resolved) -> Value {
    let mut options = Map::new();
    let mut origins = Vec::new();
    for (k, v, origin) in r.lines() {
        match options.get_mut(k) {
            Some(Value::Array(a)) => a.push(json!(v)),
            Some(existing) => {
                let first = existing.take();
                *existing = json!([first, v]);
            }
            None => {
                let multi = matches!(
                    k,
                    "identityfile"
                        | "certificatefile"
                        | "localforward"
                        | "remoteforward"
                        | "dynamicforward"
                        | "sendenv"
                        | "setenv"
                );
                options.insert(k.to_string(), if multi { json!([v]) } else { json!(v) });
            }
        }
        origins.push(json!({
            "keyword": k,
            "value": v,
            "file": origin.map(|o| o.file.display().to_string()),
            "line": origin.map(|o| o.line),
        }));
    }
    let pending: Vec<Value> = r
        .pending_exec
        .iter()
        .map(|p| {
            json!({"command": p.command, "file": p.origin.file.display().to_string(), "line": p.origin.line})
        })
        .collect();
    json!({"host": r.host_arg, "options": options, "origins": origins, "pending_exec": pending})
}
