//! Container logs, as the last lines a failure report shows.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

/// The last `lines` lines of a container's log; of its previous (crashed)
/// instance when `previous` is set.
pub async fn last_lines(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    previous: bool,
    lines: i64,
) -> Result<Vec<String>, kube::Error> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = LogParams {
        container: container.map(str::to_string),
        previous,
        tail_lines: Some(lines),
        ..LogParams::default()
    };
    let text = api.logs(pod, &params).await?;
    Ok(split_tail(&text, lines as usize))
}

/// Lines of `text`, at most the last `limit` (the server's `tailLines` is
/// advisory for some runtimes, so it is enforced here too).
pub fn split_tail(text: &str, limit: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(limit);
    lines[skip..].iter().map(|l| l.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_tail_keeps_the_last_lines() {
        assert_eq!(split_tail("a\nb\nc\n", 2), vec!["b", "c"]);
        assert_eq!(split_tail("a\n", 5), vec!["a"]);
        assert!(split_tail("", 5).is_empty());
    }
}
