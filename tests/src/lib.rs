//! End-to-end test support: a scratch working directory and the real `terrane`
//! binary run in it, as a user would.

pub mod faults;

use std::path::{Path, PathBuf};
use std::io::Read;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// No single command in these tests should take anywhere near this long; one that
/// does is reported with its stack instead of hanging the suite.
const RUN_LIMIT: Duration = Duration::from_secs(120);

fn read_all(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Every thread's stack of a stuck process, when gdb is there to ask.
fn stacks_of(pid: u32) -> String {
    Command::new("gdb")
        .args(["-batch", "-p", &pid.to_string(), "-ex", "thread apply all bt 30"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|e| format!("(gdb unavailable: {e})"))
}

/// PostgreSQL for state tests: scripts/test starts one. Never skipped: without it the test fails.
pub fn postgres_url() -> String {
    std::env::var("TERRANE_TEST_PG_URL")
        .expect("TERRANE_TEST_PG_URL is not set: run scripts/test, which starts PostgreSQL, or point it at a server")
}

/// A schema name no other test uses.
pub fn fresh_schema(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}_{}_{:x}_{}", std::process::id(), nanos, NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The terrane binary under test: `TERRANE_BIN`, or the one built beside this test.
pub fn bin() -> PathBuf {
    if let Some(path) = std::env::var_os("TERRANE_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test binary has a path");
    let dir = exe.parent().and_then(Path::parent).expect("tests run from target/<profile>/deps");
    let path = dir.join("terrane");
    assert!(path.exists(), "{} is missing: run scripts/test, or cargo build -p terrane-cli first", path.display());
    path
}

/// Found at run time (cargo sets the variable for tests): a test binary built
/// in another checkout that shares the build cache must read this one.
pub fn repo_root() -> PathBuf {
    let package = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_else(|| std::env::current_dir().expect("a working directory"));
    package.parent().expect("tests/ sits in the repository").to_path_buf()
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Everything the run printed.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The output with diagnostics' wrapped lines joined again, so a check
    /// does not depend on where the terminal width broke a message.
    fn unwrapped(&self) -> String {
        self.all().replace("\n  | ", " ")
    }

    #[track_caller]
    pub fn success(&self) -> &Run {
        assert_eq!(self.code, 0, "expected success; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "expected exit {code}; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn contains(&self, text: &str) -> &Run {
        assert!(self.all().contains(text) || self.unwrapped().contains(text), "expected {text:?} in the output; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    #[track_caller]
    pub fn lacks(&self, text: &str) -> &Run {
        assert!(!self.all().contains(text) && !self.unwrapped().contains(text), "did not expect {text:?} in the output; stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

/// A command started with `Workdir::start_until`.
pub struct Background {
    child: std::process::Child,
    stdout: JoinHandle<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Background {
    /// Sends a signal by name (`INT`, `KILL`...) as a user's terminal or CI would.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").args([format!("-{name}"), self.child.id().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    pub fn finish(mut self) -> Run {
        let status = self.child.wait().expect("wait for terrane");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout.join().unwrap_or_default(),
            stderr: self.stderr.map(|h| h.join().unwrap_or_default()).unwrap_or_default(),
        }
    }
}

pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Default for Workdir {
    fn default() -> Self {
        Workdir::new()
    }
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir { dir: tempfile::tempdir().expect("a temporary directory") }
    }

    /// A scratch copy of a directory of the repository (`examples/quickstart`, `tests/fixtures/x`).
    pub fn copy_of(relative: &str) -> Workdir {
        let w = Workdir::new();
        copy_dir(&repo_root().join(relative), w.path());
        w
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, content: &str) -> &Workdir {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the parent directory");
        }
        std::fs::write(path, content).expect("write the file");
        self
    }

    pub fn read(&self, relative: &str) -> Option<String> {
        std::fs::read_to_string(self.path().join(relative)).ok()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    /// The command as a user would run it here: no inherited TF_VAR_/TERRANE_ settings.
    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args).current_dir(self.path()).stdin(Stdio::null()).env("NO_COLOR", "1");
        for (key, _) in std::env::vars() {
            if key.starts_with("TF_VAR_") || key.starts_with("TF_WORKSPACE") || key.starts_with("TERRANE_") && key != "TERRANE_BIN" {
                cmd.env_remove(key);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts a command with its output piped, for a test that reads it as it comes.
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
        let mut cmd = self.command(args, env);
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        cmd.spawn().expect("start terrane")
    }

    /// Starts a command in the background and returns once it has printed `ready`.
    pub fn start_until(&self, args: &[&str], env: &[(&str, &str)], ready: &str) -> Background {
        let mut cmd = self.command(args, env);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start terrane");
        let stderr = child.stderr.take().map(read_all);
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut seen = String::new();
            for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
                seen.push_str(&line);
                seen.push('\n');
                let _ = tx.send(line);
            }
            seen
        });
        let started = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) if line.contains(ready) => break,
                Ok(_) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if started.elapsed() < RUN_LIMIT => {}
                Err(_) => {
                    let _ = child.kill();
                    panic!("terrane {} never printed {ready:?}", args.join(" "));
                }
            }
        }
        Background { child, stdout: reader, stderr }
    }

    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.command(args, env);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run terrane");
        // Read the pipes on threads so a chatty child never blocks on a full pipe.
        let stdout = child.stdout.take().map(read_all);
        let stderr = child.stderr.take().map(read_all);
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for terrane") {
                break status;
            }
            if started.elapsed() > RUN_LIMIT {
                let stacks = stacks_of(child.id());
                let _ = child.kill();
                panic!("terrane {} ran for more than {RUN_LIMIT:?} and was killed; its threads were:\n{stacks}", args.join(" "));
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        Run {
            code: status.code().unwrap_or(-1),
            stdout: stdout.map(|h| h.join().unwrap_or_default()).unwrap_or_default(),
            stderr: stderr.map(|h| h.join().unwrap_or_default()).unwrap_or_default(),
        }
    }

    /// Runs one SQL statement against the state database, as a crashed run might have left it.
    pub fn sql(&self, statement: &str) {
        let url = format!("sqlite://{}", self.path().join(".terrane/state.db").display());
        tokio::runtime::Runtime::new().expect("a runtime").block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.expect("open the state database");
            sqlx::query(statement).execute(&pool).await.expect("run the statement");
            pool.close().await;
        });
    }

    /// The state database's serial for the default workspace, read directly.
    pub fn state_serial(&self) -> Option<i64> {
        let path = self.path().join(".terrane/state.db");
        if !path.exists() {
            return None;
        }
        let url = format!("sqlite://{}?mode=ro", path.display());
        tokio::runtime::Runtime::new().expect("a runtime").block_on(async {
            let pool = sqlx::SqlitePool::connect(&url).await.ok()?;
            let serial: Option<i64> = sqlx::query_scalar("SELECT serial FROM workspaces WHERE name = 'default'")
                .fetch_optional(&pool)
                .await
                .ok()?;
            pool.close().await;
            serial
        })
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the destination");
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("read {}: {e}", from.display())) {
        let entry = entry.expect("a directory entry");
        let name = entry.file_name();
        if name == ".terrane" || name == "out" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy a file");
        }
    }
}

/// The AWS endpoint for provider tests: scripts/test starts moto. Never skipped:
/// without it the test fails.
pub fn aws_endpoint() -> String {
    std::env::var("TERRANE_TEST_AWS_ENDPOINT")
        .expect("TERRANE_TEST_AWS_ENDPOINT is not set: run scripts/test, which starts moto, or point it at an AWS-compatible endpoint")
}

/// The endpoint that checks keys (scripts/test starts it) and the number of
/// requests it has answered so far, from its log.
pub fn aws_strict_endpoint() -> (String, usize) {
    let endpoint = std::env::var("TERRANE_TEST_AWS_STRICT_ENDPOINT")
        .expect("TERRANE_TEST_AWS_STRICT_ENDPOINT is not set: run scripts/test, which starts a key-checking moto");
    let log = std::env::var("TERRANE_TEST_AWS_STRICT_LOG").expect("TERRANE_TEST_AWS_STRICT_LOG names the endpoint's request log");
    let requests = std::fs::read_to_string(&log).expect("read the endpoint's log").lines().filter(|l| l.contains("POST /")).count();
    (endpoint, requests)
}

/// A newer moto that reports key pairs' public keys (scripts/test starts it).
pub fn aws_keys_endpoint() -> String {
    std::env::var("TERRANE_TEST_AWS_KEYS_ENDPOINT").expect("TERRANE_TEST_AWS_KEYS_ENDPOINT is not set: run scripts/test, which starts it")
}

/// The moto that replays Terraform's requests (scripts/test starts it).
pub fn aws_replay_endpoint() -> String {
    std::env::var("TERRANE_TEST_AWS_REPLAY_ENDPOINT")
        .expect("TERRANE_TEST_AWS_REPLAY_ENDPOINT is not set: run scripts/test, which starts a moto for replays")
}

/// Makes in a moto the objects a recorded run made, with the same ids:
/// resets it, seeds its ids as the recording run did, and replays the
/// requests (scripts/oracle-aws-state).
pub fn replay_into_moto(endpoint: &str, seed: u64, requests: &[u8]) {
    moto_api(endpoint, "/moto-api/reset", b"");
    moto_api(endpoint, &format!("/moto-api/seed?a={seed}"), b"");
    moto_api(endpoint, "/moto-api/recorder/upload-recording", requests);
    moto_api(endpoint, "/moto-api/recorder/replay-recording", b"");
}

/// A POST to moto's own API; panics unless it answers 200.
fn moto_api(endpoint: &str, path: &str, body: &[u8]) {
    use std::io::{Read as _, Write as _};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).unwrap_or_else(|e| panic!("connect to moto at {host}: {e}"));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).expect("send to moto");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("moto's answer");
    let status = answer.lines().next().unwrap_or_default();
    assert!(status.contains(" 200 "), "moto answered {path} with {status:?}");
}

/// What a user sets to point terrane at the test endpoint, in one region. Tests
/// use a region each so that what one creates never shows in another's listing.
pub fn aws_env(region: &str) -> Vec<(&'static str, String)> {
    aws_env_at(&aws_endpoint(), region)
}

/// `aws_env` for another endpoint (a second moto version).
pub fn aws_env_at(endpoint: &str, region: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", region.into()),
        // The test endpoint serves every bucket under its own host name.
        ("AWS_S3_USE_PATH_STYLE", "true".into()),
    ]
}

impl Workdir {
    /// Runs terrane against the test AWS endpoint in `region`.
    pub fn run_aws(&self, region: &str, args: &[&str]) -> Run {
        self.run_aws_at(&aws_endpoint(), region, args)
    }

    /// Runs terrane against another AWS endpoint (a relay in front of the test one).
    pub fn run_aws_at(&self, endpoint: &str, region: &str, args: &[&str]) -> Run {
        let env = aws_env_at(endpoint, region);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.run_with_env(args, &pairs)
    }
}

/// SDK clients on the test endpoint, to see what really exists there.
pub struct AwsCheck {
    runtime: tokio::runtime::Runtime,
    pub ec2: aws_sdk_ec2::Client,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
}

impl AwsCheck {
    pub fn new(region: &str) -> AwsCheck {
        AwsCheck::at(&aws_endpoint(), region)
    }

    pub fn at(endpoint: &str, region: &str) -> AwsCheck {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let credentials = aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "tests");
        let config = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(region.to_string()))
                .endpoint_url(endpoint)
                .credentials_provider(credentials)
                .load(),
        );
        let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
        AwsCheck {
            ec2: aws_sdk_ec2::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            iam: aws_sdk_iam::Client::new(&config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            runtime,
        }
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Makes a VPC outside terrane, as someone would by hand; returns its id.
    pub fn create_vpc(&self, cidr: &str) -> String {
        let out = self.block_on(self.ec2.create_vpc().cidr_block(cidr).send()).expect("create a VPC by hand");
        out.vpc().and_then(|v| v.vpc_id()).expect("a VPC id").to_string()
    }

    /// Sets an EC2 object's Name tag, as someone would by hand.
    pub fn set_name_tag(&self, id: &str, name: &str) {
        let tag = aws_sdk_ec2::types::Tag::builder().key("Name").value(name).build();
        self.block_on(self.ec2.create_tags().resources(id).tags(tag).send()).expect("tag the object");
    }

    /// An EC2 object's Name tag, as AWS has it.
    pub fn name_tag(&self, id: &str) -> Option<String> {
        let filter = aws_sdk_ec2::types::Filter::builder().name("resource-id").values(id).build();
        let out = self.block_on(self.ec2.describe_tags().filters(filter).send()).expect("describe tags");
        out.tags().iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value()).map(str::to_string)
    }

    /// Ids of the EC2 objects that still carry terrane's create token.
    pub fn token_tagged(&self) -> Vec<String> {
        let filter = aws_sdk_ec2::types::Filter::builder().name("key").values("terrane:token").build();
        let out = self.block_on(self.ec2.describe_tags().filters(filter).send()).expect("describe tags");
        out.tags().iter().filter_map(|t| t.resource_id()).map(str::to_string).collect()
    }

    /// Ids of the VPCs that are not the region's default one.
    pub fn vpc_ids(&self) -> Vec<String> {
        let out = self.block_on(self.ec2.describe_vpcs().send()).expect("describe VPCs");
        out.vpcs().iter().filter(|v| v.is_default() != Some(true)).filter_map(|v| v.vpc_id()).map(str::to_string).collect()
    }

    /// Ids of the instances that are not terminated.
    pub fn live_instances(&self) -> Vec<String> {
        let out = self.block_on(self.ec2.describe_instances().send()).expect("describe instances");
        out.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated"))
            .filter_map(|i| i.instance_id())
            .map(str::to_string)
            .collect()
    }

    pub fn bucket_names(&self) -> Vec<String> {
        let out = self.block_on(self.s3.list_buckets().send()).expect("list buckets");
        out.buckets().iter().filter_map(|b| b.name()).map(str::to_string).collect()
    }
}
