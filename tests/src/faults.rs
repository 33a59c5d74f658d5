//! A loopback HTTP relay in front of the test AWS endpoint that answers chosen
//! requests with an error instead of passing them on: how the tests make AWS
//! throttle or fail the way it does under load, which moto never does. It
//! can also mend answers of moto's that are not valid EC2 XML.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One kind of request to refuse: requests whose body contains `action`
/// (`Action=CreateVpc`) get `status` and `body`, the first `times` times.
pub struct Fault {
    pub action: &'static str,
    pub times: usize,
    pub status: u16,
    pub body: &'static str,
}

/// EC2's answer when an account calls too fast; the SDK retries it as throttling.
pub const EC2_THROTTLED: &str =
    "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>";

/// A server-side failure; the SDK retries it as a transient error.
pub const EC2_UNAVAILABLE: &str =
    "<Response><Errors><Error><Code>Unavailable</Code><Message>The server is overloaded.</Message></Error></Errors></Response>";

#[derive(Default)]
struct Tally {
    refused: Vec<usize>,
    passed: usize,
}

pub struct FaultyEndpoint {
    pub url: String,
    tally: Arc<Mutex<Tally>>,
}

/// What the relay does to answers on their way back.
#[derive(Clone, Copy, PartialEq)]
pub enum Answers {
    AsTheyAre,
    /// Mended where moto's answers are not valid EC2 XML, which the SDK
    /// refuses: booleans written as Python writes them (`True`, `False`:
    /// launch template versions, instance attributes), and DeleteLaunchTemplate
    /// answered under the plural DeleteLaunchTemplates' name.
    Mended,
}

impl FaultyEndpoint {
    /// Starts relaying to `upstream` (`http://host:port`), refusing as `faults` say.
    pub fn start(upstream: &str, faults: Vec<Fault>) -> FaultyEndpoint {
        FaultyEndpoint::relaying(upstream, faults, Answers::AsTheyAre)
    }

    /// Relays everything to `upstream`, with answers made valid EC2 XML.
    pub fn mending(upstream: &str) -> FaultyEndpoint {
        FaultyEndpoint::relaying(upstream, Vec::new(), Answers::Mended)
    }

    fn relaying(upstream: &str, faults: Vec<Fault>, answers: Answers) -> FaultyEndpoint {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("the bound address"));
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let tally = Arc::new(Mutex::new(Tally { refused: vec![0; faults.len()], passed: 0 }));
        let shared = Arc::clone(&tally);
        let faults = Arc::new(faults);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (upstream, tally, faults) = (upstream.clone(), Arc::clone(&shared), Arc::clone(&faults));
                std::thread::spawn(move || {
                    let _ = relay(client, &upstream, &faults, &tally, answers);
                });
            }
        });
        FaultyEndpoint { url, tally }
    }

    /// How many requests each fault refused, in the order given.
    pub fn refused(&self) -> Vec<usize> {
        self.tally.lock().expect("the tally").refused.clone()
    }

    /// How many requests reached the endpoint behind.
    pub fn passed(&self) -> usize {
        self.tally.lock().expect("the tally").passed
    }
}

/// Handles one connection: one request, one answer, then the connection closes.
fn relay(client: TcpStream, upstream: &str, faults: &[Fault], tally: &Mutex<Tally>, answers: Answers) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut content_length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap_or(0);
            }
            if name.eq_ignore_ascii_case("connection") {
                continue;
            }
        }
        let end = line == "\r\n";
        if end {
            head.extend_from_slice(b"Connection: close\r\n");
        }
        head.extend_from_slice(line.as_bytes());
        if end {
            break;
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let text = String::from_utf8_lossy(&body);
    let mut client = client;

    let refusal = {
        let mut tally = tally.lock().expect("the tally");
        let hit = faults.iter().enumerate().find(|(i, f)| text.contains(f.action) && tally.refused[*i] < f.times).map(|(i, _)| i);
        match hit {
            Some(i) => {
                tally.refused[i] += 1;
                Some(&faults[i])
            }
            None => {
                tally.passed += 1;
                None
            }
        }
    };
    if let Some(fault) = refusal {
        let answer = format!(
            "HTTP/1.1 {} Refused\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            fault.status,
            fault.body.len(),
            fault.body
        );
        return client.write_all(answer.as_bytes());
    }
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(&head)?;
    server.write_all(&body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    if answers == Answers::Mended {
        answer = mended(&answer);
    }
    client.write_all(&answer)
}

/// An HTTP answer mended as `Answers::Mended` says, its Content-Length made to fit.
fn mended(answer: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else { return answer.to_vec() };
    let body = body
        .replace(">True<", ">true<")
        .replace(">False<", ">false<")
        .replace("DeleteLaunchTemplatesResponse", "DeleteLaunchTemplateResponse");
    let head: Vec<String> = head
        .split("\r\n")
        .map(|line| match line.split_once(':') {
            Some((name, _)) if name.eq_ignore_ascii_case("content-length") => format!("{name}: {}", body.len()),
            _ => line.to_string(),
        })
        .collect();
    format!("{}\r\n\r\n{body}", head.join("\r\n")).into_bytes()
}
