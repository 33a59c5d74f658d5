//! The raw-SDK baseline of the AWS benchmarks (bench/bench.py, scenario 5): the
//! EC2 calls for VPCs with no engine, no state and no batching, so the harness
//! can show what terrane adds to the calls and what its batched reads save.
//!
//!   vpc_baseline create COUNT [--concurrency N] [--read-back]
//!       CreateVpc COUNT times, N at a time (10 by default, Terraform's and
//!       terrane's parallelism); with --read-back each VPC is then read as
//!       terrane's provider reads one.
//!   vpc_baseline read IDS_FILE [--concurrency N]
//!       Reads each VPC named in IDS_FILE (one id per line) with its own calls,
//!       as a provider that reads one object at a time does.
//!
//! The endpoint, region and keys come from the environment (AWS_ENDPOINT_URL,
//! AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).

use std::process::ExitCode;

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification, VpcAttributeName};
use aws_sdk_ec2::Client;
use futures_util::{StreamExt as _, TryStreamExt as _};

type Failure = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    concurrency: usize,
    read_back: bool,
    positional: Vec<String>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        concurrency: 10,
        read_back: false,
        positional: Vec::new(),
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--concurrency" => {
                let n = args.next().ok_or("--concurrency needs a number")?;
                options.concurrency = n
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or(format!("--concurrency: {n:?} is not a positive number"))?;
            }
            "--read-back" => options.read_back = true,
            _ => options.positional.push(arg),
        }
    }
    Ok(options)
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The calls terrane's provider makes to read one VPC: the VPC, its main route
/// table, its default security group, its default network ACL and its two DNS
/// attributes.
async fn read_vpc(ec2: &Client, id: &str) -> Result<(), Failure> {
    let vpcs = ec2
        .describe_vpcs()
        .filters(filter("vpc-id", id))
        .send()
        .await?;
    if vpcs.vpcs().is_empty() {
        return Err(format!("{id} does not exist").into());
    }
    ec2.describe_route_tables()
        .filters(filter("vpc-id", id))
        .filters(filter("association.main", "true"))
        .send()
        .await?;
    ec2.describe_security_groups()
        .filters(filter("vpc-id", id))
        .filters(filter("group-name", "default"))
        .send()
        .await?;
    ec2.describe_network_acls()
        .filters(filter("vpc-id", id))
        .filters(filter("default", "true"))
        .send()
        .await?;
    for attribute in [
        VpcAttributeName::EnableDnsSupport,
        VpcAttributeName::EnableDnsHostnames,
    ] {
        ec2.describe_vpc_attribute()
            .vpc_id(id)
            .attribute(attribute)
            .send()
            .await?;
    }
    Ok(())
}

async fn create_vpc(ec2: &Client, index: usize, read_back: bool) -> Result<(), Failure> {
    let name = Tag::builder()
        .key("Name")
        .value(format!("baseline-{index}"))
        .build();
    let out = ec2
        .create_vpc()
        .cidr_block(format!("10.{}.{}.0/24", index / 256 % 256, index % 256))
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Vpc)
                .tags(name)
                .build(),
        )
        .send()
        .await?;
    let id = out
        .vpc()
        .and_then(|v| v.vpc_id())
        .ok_or("CreateVpc answered without a VPC id")?;
    if read_back {
        read_vpc(ec2, id).await?;
    }
    Ok(())
}

async fn run(command: &str, options: Options) -> Result<usize, Failure> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ec2 = Client::new(&config);
    let ec2 = &ec2;
    match (command, options.positional.as_slice()) {
        ("create", [count]) => {
            let count: usize = count.parse().map_err(|_| format!("COUNT: {count:?} is not a number"))?;
            futures_util::stream::iter(0..count)
                .map(|i| create_vpc(ec2, i, options.read_back))
                .buffer_unordered(options.concurrency)
                .try_collect::<Vec<()>>()
                .await
                .map(|done| done.len())
        }
        ("read", [ids_file]) => {
            let text = std::fs::read_to_string(ids_file).map_err(|e| format!("{ids_file}: {e}"))?;
            let ids: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            futures_util::stream::iter(ids)
                .map(|id| read_vpc(ec2, id))
                .buffer_unordered(options.concurrency)
                .try_collect::<Vec<()>>()
                .await
                .map(|done| done.len())
        }
        _ => Err("usage: vpc_baseline create COUNT [--concurrency N] [--read-back] | read IDS_FILE [--concurrency N]".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let outcome = match parse(args) {
        Ok(options) => run(&command, options).await,
        Err(message) => Err(message.into()),
    };
    match outcome {
        Ok(done) => {
            println!("{command}: {done} VPCs");
            ExitCode::SUCCESS
        }
        Err(e) => {
            // An SDK error says "service error" itself; its sources say which.
            let mut message = e.to_string();
            let mut source = e.source();
            while let Some(inner) = source {
                message = format!("{message}: {inner}");
                source = inner.source();
            }
            eprintln!("vpc_baseline: {message}");
            ExitCode::FAILURE
        }
    }
}
