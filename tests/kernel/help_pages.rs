//! What the completion scripts offer and what the manual pages hold (issue 9): values
//! of the flags that have a fixed set, comma lists item by item, namespace names for
//! --netns as they are when tab is pressed; and the EXIT STATUS, EXAMPLES, FILES,
//! DIFFERENCES FROM CONNTRACK and SEE ALSO sections on every page.

use std::process::Command;

use crate::common::{Netns, TempFile, check_ok, ct_command, find_program, run};

fn ct_text(args: &[&str]) -> String {
    check_ok(&format!("ct {args:?}"), &run(ct_command().args(args)))
}

/// What bash offers for the last word of `line`, with ct's completion script loaded.
fn bash_offers(script: &TempFile, line: &str) -> Vec<String> {
    let probe = r#"source "$1"
read -ra COMP_WORDS <<< "$2"
[[ "$2" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
_ct ct "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}""#;
    let bash = find_program("bash").expect("bash");
    let out = run(Command::new(bash).args(["-c", probe, "bash", script.path_str(), line]));
    let mut offered: Vec<String> = check_ok(line, &out)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    offered.sort();
    offered
}

#[test]
fn bash_offers_values_lists_and_namespaces() {
    let script = TempFile::new("completion-bash", &ct_text(&["completions", "bash"]));
    for (line, offered) in [
        ("ct list -p ud", vec!["udp", "udplite"]),
        ("ct count --state TIME", vec!["TIME_WAIT", "TIMEWAIT"]),
        ("ct list -u ASSURED,SEEN", vec!["ASSURED,SEEN_REPLY"]),
        ("ct list -o extended,j", vec!["extended,json"]),
        ("ct list --columns proto,st", vec!["proto,state"]),
        ("ct stats -o j", vec!["json"]),
        ("ct list ex", vec!["expect"]),
        ("ct co", vec!["completions", "count"]),
    ] {
        let mut offered: Vec<String> = offered.into_iter().map(str::to_string).collect();
        offered.sort();
        assert_eq!(bash_offers(&script, line), offered, "{line}");
    }
}

/// --netns offers the namespaces of /run/netns at the moment tab is pressed.
#[test]
fn bash_offers_namespace_names() {
    require_kernel!();
    let ns = Netns::new();
    let script = TempFile::new("completion-bash", &ct_text(&["completions", "bash"]));
    let prefix = &ns.name()[..ns.name().len() - 1];
    let offered = bash_offers(&script, &format!("ct list --netns {prefix}"));
    assert!(offered.iter().any(|name| name == ns.name()), "{offered:?}");
    assert!(
        offered.iter().all(|name| name.starts_with(prefix)),
        "{offered:?}"
    );
}

#[test]
fn zsh_and_fish_complete_namespace_names() {
    let zsh = ct_text(&["completions", "zsh"]);
    assert!(
        zsh.contains(":NAME|PATH|PID:_files -W /run/netns"),
        "zsh --netns"
    );
    let fish = ct_text(&["completions", "fish"]);
    let netns_lines: Vec<&str> = fish.lines().filter(|l| l.contains(" -l netns ")).collect();
    assert!(!netns_lines.is_empty());
    for line in netns_lines {
        assert!(
            line.ends_with(" -f -a '(ls /run/netns 2>/dev/null)'"),
            "{line}"
        );
    }
    // Each script is valid for its shell where the shell is installed.
    for (shell, script) in [("zsh", zsh), ("fish", fish)] {
        if let Some(program) = find_program(shell) {
            let file = TempFile::new(&format!("completion-{shell}"), &script);
            let out = run(Command::new(program).args(["-n", file.path_str()]));
            assert!(
                out.status.success(),
                "{shell} -n: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn every_page_has_exit_status_examples_files_differences_and_see_also() {
    for page in [
        None,
        Some("list"),
        Some("count"),
        Some("stats"),
        Some("get"),
        Some("create"),
        Some("restore"),
        Some("completions"),
        Some("man"),
    ] {
        let mut args = vec!["man"];
        args.extend(page);
        let roff = ct_text(&args);
        for section in [
            ".SH \"EXIT STATUS\"",
            ".SH EXAMPLES",
            ".SH FILES",
            ".SH \"DIFFERENCES FROM CONNTRACK\"",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(roff.contains(section), "ct man {page:?}: no {section}");
        }
        assert!(
            roff.contains(".BR conntrack (8),"),
            "ct man {page:?}: no conntrack(8)"
        );
        // Every page it names exists: ct man makes each (and ct help is no command).
        assert!(
            !roff.contains("ct\\-help"),
            "ct man {page:?} names ct-help(1)"
        );
    }
    let get = ct_text(&["man", "get"]);
    assert!(
        get.contains(".B ct get \\-p udp \\-r 10.0.0.53"),
        "an example of ct get"
    );
}

/// `ct man --list` prints the name of every page `ct man` takes, one a line, each a page
/// whose title is its own (the Debian package installs them by this list).
#[test]
fn man_list_names_every_page() {
    let listed = ct_text(&["man", "--list"]);
    assert_eq!(
        listed,
        "list\ncount\nstats\nget\ncreate\nrestore\ndelete\nupdate\nflush\nwatch\ntop\nexporter\ncompletions\nman\nconntrack\n"
    );
    for page in listed.lines() {
        let roff = ct_text(&["man", page]);
        let section = if page == "conntrack" { 8 } else { 1 };
        assert!(
            roff.contains(&format!("\n.TH ct-{page} {section} "))
                || roff.starts_with(&format!(".TH ct-{page} {section} ")),
            "ct man {page}: no .TH ct-{page} {section}"
        );
    }
    let out = run(ct_command().args(["man", "--list", "list"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
