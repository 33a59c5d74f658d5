//! The AWS provider end to end, through the real binary, against the AWS endpoint
//! scripts/test starts (moto in server mode). What exists is checked through the
//! SDK, not through terrane. Each test works in a region of its own.

use terrane_tests::{AwsCheck, Workdir};

const PROVIDER: &str = r#"
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
"#;

fn network(subnet_cidr: &str, port: u16, name_tag: &str, dns_hostnames: bool) -> String {
    format!(
        r#"{PROVIDER}
resource "aws_vpc" "main" {{
  cidr_block           = "10.10.0.0/16"
  enable_dns_hostnames = {dns_hostnames}
  tags                 = {{ Name = "{name_tag}" }}
}}

resource "aws_subnet" "app" {{
  vpc_id     = aws_vpc.main.id
  cidr_block = "{subnet_cidr}"
}}

resource "aws_internet_gateway" "gw" {{
  vpc_id = aws_vpc.main.id
}}

resource "aws_route_table" "public" {{
  vpc_id = aws_vpc.main.id
  route {{
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.gw.id
  }}
}}

resource "aws_route_table_association" "app" {{
  subnet_id      = aws_subnet.app.id
  route_table_id = aws_route_table.public.id
}}

resource "aws_security_group" "web" {{
  name   = "web"
  vpc_id = aws_vpc.main.id
  ingress {{
    from_port   = {port}
    to_port     = {port}
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}
}}

# Rules as resources of their own go on a group with no inline rules: inline
# rules are the whole truth for their group, as in Terraform.
resource "aws_security_group" "admin" {{
  name   = "admin"
  vpc_id = aws_vpc.main.id
}}

resource "aws_security_group_rule" "ssh" {{
  type              = "ingress"
  security_group_id = aws_security_group.admin.id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["192.168.0.0/16"]
}}

resource "aws_vpc_security_group_egress_rule" "https" {{
  security_group_id = aws_security_group.admin.id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}}
"#
    )
}

#[test]
fn network_applies_updates_replaces_and_destroys() {
    const REGION: &str = "eu-west-1";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    w.write("main.tf", &network("10.10.1.0/24", 80, "one", false));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("Apply complete! Resources: 9 added, 0 changed, 0 destroyed.");
    assert_eq!(aws.token_tagged(), Vec::<String>::new(), "no object keeps terrane's create token once it is in state");
    let vpcs = aws.vpc_ids();
    assert_eq!(vpcs.len(), 1, "one VPC exists: {vpcs:?}");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0).contains("No changes.");

    // Tags, a VPC attribute and a security group's inline rule change in place.
    w.write("main.tf", &network("10.10.1.0/24", 8080, "two", true));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_vpc.main will be updated in-place")
        .contains("# aws_security_group.web will be updated in-place")
        .contains("Plan: 0 to add, 2 to change, 0 to destroy.");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("0 added, 2 changed, 0 destroyed");
    assert_eq!(aws.vpc_ids(), vpcs, "the VPC was updated, not replaced");
    let group = aws.block_on(aws.ec2.describe_security_groups().group_names("web").send()).expect("describe the group");
    let ports: Vec<i32> = group.security_groups()[0].ip_permissions().iter().filter_map(|p| p.from_port()).collect();
    assert_eq!(ports, [8080], "web's ingress is now only 8080");
    let admin = aws.block_on(aws.ec2.describe_security_groups().group_names("admin").send()).expect("describe the group");
    let admin = &admin.security_groups()[0];
    assert_eq!(admin.ip_permissions()[0].from_port(), Some(22), "the separate rule is untouched");
    assert!(admin.ip_permissions_egress().iter().any(|p| p.from_port() == Some(443)));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);

    // A subnet's CIDR cannot change: the subnet and what hangs on it are replaced.
    w.write("main.tf", &network("10.10.2.0/24", 8080, "two", true));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_subnet.app must be replaced")
        .contains("# forces replacement");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    let subnets = aws.block_on(aws.ec2.describe_subnets().filters(filter("vpc-id", &vpcs[0])).send()).expect("describe subnets");
    let cidrs: Vec<&str> = subnets.subnets().iter().filter_map(|s| s.cidr_block()).collect();
    assert_eq!(cidrs, ["10.10.2.0/24"]);
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);

    w.run_aws(REGION, &["destroy", "-auto-approve"]).success().contains("9 destroyed");
    assert!(aws.vpc_ids().is_empty(), "destroy left VPCs behind: {:?}", aws.vpc_ids());
}

fn filter(name: &str, value: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder().name(name).values(value).build()
}

fn instance(instance_type: &str, user_data: &str) -> String {
    format!(
        r#"{PROVIDER}
data "aws_ami" "linux" {{
  most_recent = true
  owners      = ["amazon"]
  filter {{
    name   = "name"
    values = ["amzn2-ami-hvm-*-x86_64-gp2"]
  }}
}}

resource "aws_vpc" "main" {{
  cidr_block = "10.20.0.0/16"
}}

resource "aws_subnet" "main" {{
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.20.1.0/24"
}}

resource "aws_key_pair" "deploy" {{
  key_name   = "deploy"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqz8yIYNZZ6b0TCnFHcCfTOOOZ3KqGr1JmNQFyfYZ2y deploy"
}}

resource "aws_instance" "app" {{
  ami           = data.aws_ami.linux.id
  instance_type = "{instance_type}"
  subnet_id     = aws_subnet.main.id
  key_name      = aws_key_pair.deploy.key_name
  user_data     = "{user_data}"
  tags          = {{ Name = "app" }}
}}

resource "aws_eip" "app" {{
  instance = aws_instance.app.id
}}
"#
    )
}

#[test]
fn instance_resizes_in_place_and_is_replaced_for_new_user_data() {
    const REGION: &str = "us-west-2";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    w.write("main.tf", &instance("t3.micro", "one"));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("5 added");
    let first = aws.live_instances();
    assert_eq!(first.len(), 1);
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);

    w.write("main.tf", &instance("t3.small", "one"));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(2).contains("# aws_instance.app will be updated in-place").contains("\"t3.micro\" -> \"t3.small\"");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    assert_eq!(aws.live_instances(), first, "resized in place");
    let out = aws.block_on(aws.ec2.describe_instances().instance_ids(&first[0]).send()).expect("describe");
    assert_eq!(out.reservations()[0].instances()[0].instance_type().map(|t| t.as_str()), Some("t3.small"));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);

    w.write("main.tf", &instance("t3.small", "two"));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(2).contains("# aws_instance.app must be replaced");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    let second = aws.live_instances();
    assert_eq!(second.len(), 1, "the old instance is gone: {second:?}");
    assert_ne!(second, first);
    // The address followed the new instance.
    let eip = aws.block_on(aws.ec2.describe_addresses().send()).expect("describe addresses");
    assert_eq!(eip.addresses()[0].instance_id(), Some(second[0].as_str()));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);

    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
    assert!(aws.live_instances().is_empty());
    assert!(aws.vpc_ids().is_empty());
    let keys = aws.block_on(aws.ec2.describe_key_pairs().send()).expect("describe key pairs");
    assert!(keys.key_pairs().is_empty());
    let eips = aws.block_on(aws.ec2.describe_addresses().send()).expect("describe addresses");
    assert!(eips.addresses().is_empty());
}

#[test]
fn changes_made_outside_terrane_show_in_the_plan_and_apply_converges() {
    const REGION: &str = "ap-southeast-1";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    w.write(
        "main.tf",
        &format!(
            "{PROVIDER}\nresource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.30.0.0/16\"\n  tags = {{ Name = \"drift\" }}\n}}\n\
             resource \"aws_subnet\" \"s\" {{\n  vpc_id = aws_vpc.v.id\n  cidr_block = \"10.30.1.0/24\"\n}}\n\
             resource \"aws_s3_bucket\" \"b\" {{\n  bucket = \"terrane-test-drift\"\n}}\n\
             resource \"aws_s3_object\" \"o\" {{\n  bucket = aws_s3_bucket.b.id\n  key = \"motd\"\n  content = \"hello\"\n}}\n"
        ),
    );
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    let vpc = aws.vpc_ids().remove(0);

    // Someone retags the VPC and deletes the subnet by hand.
    aws.set_name_tag(&vpc, "renamed");
    let subnets = aws.block_on(aws.ec2.describe_subnets().filters(filter("vpc-id", &vpc)).send()).expect("describe subnets");
    let subnet = subnets.subnets()[0].subnet_id().expect("a subnet id").to_string();
    aws.block_on(aws.ec2.delete_subnet().subnet_id(&subnet).send()).expect("delete the subnet");
    // And overwrites the object.
    let body = aws_sdk_s3::primitives::ByteStream::from_static(b"tampered");
    aws.block_on(aws.s3.put_object().bucket("terrane-test-drift").key("motd").body(body).send()).expect("overwrite the object");

    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        // The subnet to be made again reads the VPC, so its drift is
        // reported; nothing reads the subnet's, so its is not (Terraform's rule).
        .contains("Objects have changed outside of terrane")
        .contains("# aws_vpc.v has changed")
        .lacks("# aws_subnet.s has been deleted")
        .contains("# aws_vpc.v will be updated in-place")
        .contains("\"renamed\" -> \"drift\"")
        .contains("# aws_subnet.s will be created")
        .contains("# aws_s3_object.o will be updated in-place")
        .contains("\"tampered\" -> \"hello\"");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("1 added, 2 changed, 0 destroyed");
    let restored = aws.block_on(async {
        let out = aws.s3.get_object().bucket("terrane-test-drift").key("motd").send().await.expect("get the object");
        out.body.collect().await.expect("read it").into_bytes()
    });
    assert_eq!(&restored[..], b"hello");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    assert_eq!(aws.name_tag(&vpc).as_deref(), Some("drift"));
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
    assert!(aws.vpc_ids().is_empty());
}

#[test]
fn a_refresh_split_over_several_describe_calls_finds_every_object_and_every_change() {
    const REGION: &str = "ap-northeast-2";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    // 120 VPCs: more than one describe call carries, so the read is split.
    w.write(
        "main.tf",
        &format!(
            "{PROVIDER}\nresource \"aws_vpc\" \"v\" {{\n  count = 120\n  cidr_block = cidrsubnet(\"10.0.0.0/8\", 16, count.index)\n  \
             tags = {{ Name = \"v${{count.index}}\" }}\n}}\n"
        ),
    );
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("120 added");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);

    let by_name = |name: &str| {
        let out = aws.block_on(aws.ec2.describe_vpcs().filters(filter("tag:Name", name)).send()).expect("describe VPCs");
        out.vpcs()[0].vpc_id().expect("a VPC id").to_string()
    };
    // Objects from the first and the last call go away; one in the middle is retagged.
    for name in ["v7", "v113"] {
        aws.block_on(aws.ec2.delete_vpc().vpc_id(by_name(name)).send()).expect("delete a VPC");
    }
    aws.set_name_tag(&by_name("v64"), "renamed");

    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_vpc.v[7] will be created")
        .contains("# aws_vpc.v[113] will be created")
        .contains("# aws_vpc.v[64] will be updated in-place")
        .contains("Plan: 2 to add, 1 to change, 0 to destroy.");
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
    assert!(aws.vpc_ids().is_empty());
}

#[test]
fn existing_objects_are_imported_and_then_plan_clean() {
    const REGION: &str = "ap-northeast-1";
    let aws = AwsCheck::new(REGION);
    let vpc = aws.create_vpc("10.40.0.0/16");
    aws.block_on(aws.s3.create_bucket().bucket("terrane-test-imported").create_bucket_configuration(
        aws_sdk_s3::types::CreateBucketConfiguration::builder()
            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
            .build(),
    ).send())
    .expect("create a bucket by hand");
    let w = Workdir::new();
    w.write(
        "main.tf",
        &format!("{PROVIDER}\nresource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.40.0.0/16\"\n}}\nresource \"aws_s3_bucket\" \"b\" {{\n  bucket = \"terrane-test-imported\"\n}}\n"),
    );
    w.run_aws(REGION, &["import", "aws_vpc.v", &vpc]).success().contains("Import successful!");
    w.run_aws(REGION, &["import", "aws_s3_bucket.b", "terrane-test-imported"]).success();
    w.run_aws(REGION, &["import", "aws_vpc.v", &vpc]).code(1).contains("aws_vpc.v is already managed");
    w.run_aws(REGION, &["import", "aws_vpc.missing", &vpc]).code(1).contains("is not in the configuration");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success().contains("2 destroyed");
    assert!(aws.vpc_ids().is_empty());
    assert!(!aws.bucket_names().contains(&"terrane-test-imported".to_string()));
}

#[test]
fn import_blocks_bring_objects_under_management_in_the_apply_that_fixes_them() {
    const REGION: &str = "eu-south-1";
    let aws = AwsCheck::new(REGION);
    let vpc = aws.create_vpc("10.41.0.0/16");
    aws.set_name_tag(&vpc, "handmade");
    let w = Workdir::new();
    w.write(
        "main.tf",
        &format!(
            "{PROVIDER}\nprovider \"aws\" {{\n  skip_requesting_account_id = true\n}}\nvariable \"vpc_id\" {{ type = string }}\nresource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.41.0.0/16\"\n  tags = {{ Name = \"managed\" }}\n}}\nimport {{\n  to = aws_vpc.v\n  id = var.vpc_id\n}}\n"
        ),
    );
    let var = format!("vpc_id={vpc}");
    w.run_aws(REGION, &["plan", "-detailed-exitcode", "-var", &var])
        .code(2)
        .contains("# aws_vpc.v will be updated in-place")
        .contains(&format!("# (imported from \"{vpc}\")"))
        .contains("\"handmade\" -> \"managed\"")
        .contains("Plan: 1 to import, 0 to add, 1 to change, 0 to destroy.");
    assert!(w.run_aws(REGION, &["state", "list"]).success().stdout.is_empty(), "a plan imports nothing into state");
    w.run_aws(REGION, &["apply", "-auto-approve", "-var", &var]).success().contains("Resources: 1 imported, 0 added, 1 changed, 0 destroyed.");
    assert_eq!(aws.vpc_ids(), vec![vpc.clone()], "the VPC was adopted, not created again");
    assert_eq!(aws.name_tag(&vpc).as_deref(), Some("managed"));
    // Without the account lookup, the ARN still names the account: the VPC's owner.
    let owner = aws.block_on(aws.ec2.describe_vpcs().vpc_ids(&vpc).send()).expect("describe the VPC").vpcs()[0].owner_id().unwrap_or_default().to_string();
    assert!(!owner.is_empty());
    w.run_aws(REGION, &["state", "show", "aws_vpc.v"]).success().contains(&format!("arn:aws:ec2:{REGION}:{owner}:vpc/{vpc}"));
    // The import block stays in the configuration: its target is managed now.
    w.run_aws(REGION, &["plan", "-detailed-exitcode", "-var", &var]).code(0).contains("No changes.");
    w.run_aws(REGION, &["state", "history"]).success().contains("import");
    w.run_aws(REGION, &["destroy", "-auto-approve", "-var", &var]).success().contains("1 destroyed");
    assert!(aws.vpc_ids().is_empty());
}

#[test]
fn bad_input_is_caught_at_plan_time_with_its_location_and_creates_nothing() {
    const REGION: &str = "sa-east-1";
    let aws = AwsCheck::new(REGION);
    let cases = [
        ("resource \"aws_vpc\" \"v\" {\n  cidr_block = \"10.0.0.300/16\"\n}\n", "main.tf:8:16", "not a CIDR block"),
        (
            "resource \"aws_instance\" \"i\" {\n  ami           = \"ami-12345678\"\n  instance_type = \"t3.gigantic\"\n}\n",
            "main.tf:9:19",
            "\"t3.gigantic\" is not an EC2 instance type",
        ),
        ("resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"My_Bucket\"\n}\n", "main.tf:8:12", "may contain only lowercase letters"),
        (
            "resource \"aws_security_group_rule\" \"r\" {\n  type = \"ingress\"\n  security_group_id = \"sg-1\"\n  from_port = 443\n  to_port = 80\n  protocol = \"tcp\"\n}\n",
            "main.tf:10:15",
            "the port range 443-80 is empty",
        ),
        ("resource \"aws_eip\" \"e\" {\n  domain = \"standard\"\n}\n", "main.tf:8:12", "ended with EC2-Classic"),
        // Arguments Terraform's schema has and terrane does not act on yet are refused, not ignored.
        (
            "resource \"aws_instance\" \"i\" {\n  ami           = \"ami-12345678\"\n  instance_type = \"t3.micro\"\n  cpu_options {\n    core_count = 2\n  }\n}\n",
            "main.tf:10:3",
            "`cpu_options` is not supported by terrane yet",
        ),
        (
            "resource \"aws_vpc\" \"v\" {\n  cidr_block          = \"10.0.0.0/16\"\n  ipv4_netmask_length = 16\n}\n",
            "main.tf:9:25",
            "`ipv4_netmask_length` is not supported by terrane yet",
        ),
        (
            "resource \"aws_s3_bucket_lifecycle_configuration\" \"l\" {\n  bucket = \"terrane-bad-lifecycle\"\n  rule {\n    id     = \"archive\"\n    \
             status = \"Enabled\"\n    transition {\n      days          = 30\n      storage_class = \"COLD\"\n    }\n  }\n}\n",
            "main.tf:14:23",
            "storage_class must be one of",
        ),
    ];
    for (body, location, message) in cases {
        let w = Workdir::new();
        w.write("main.tf", &format!("{PROVIDER}{body}"));
        for command in [&["plan"][..], &["apply", "-auto-approve"][..]] {
            w.run_aws(REGION, command).code(1).contains(location).contains(message);
        }
        assert_eq!(w.run_aws(REGION, &["state", "list"]).stdout, "", "nothing recorded for {body}");
    }
    assert!(aws.vpc_ids().is_empty(), "nothing was created");
    assert!(aws.live_instances().is_empty());
}

/// Configurations written for Terraform's provider run as written: a group in
/// the default VPC with no rules, rules given as a list instead of blocks, a
/// deprecated argument (with a warning).
#[test]
fn terraform_spellings_apply_and_plan_clean() {
    const REGION: &str = "us-west-1";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    w.write(
        "main.tf",
        &format!(
            r#"{PROVIDER}
resource "aws_security_group" "bare" {{
  name = "bare"
}}

resource "aws_security_group" "listed" {{
  name = "listed"
  ingress = [{{
    from_port        = 443
    to_port          = 443
    protocol         = "tcp"
    cidr_blocks      = ["10.0.0.0/8"]
    description      = "https"
    ipv6_cidr_blocks = []
    prefix_list_ids  = []
    security_groups  = []
    self             = false
  }}]
}}

resource "aws_eip" "old" {{
  vpc = true
}}
"#
        ),
    );
    w.run_aws(REGION, &["apply", "-auto-approve"])
        .success()
        .contains("argument \"vpc\" of resource \"aws_eip\" is deprecated")
        .contains("Apply complete! Resources: 3 added");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
    assert_eq!(aws.token_tagged(), Vec::<String>::new(), "no object keeps terrane's create token");
    let groups = aws
        .block_on(aws.ec2.describe_security_groups().filters(aws_sdk_ec2::types::Filter::builder().name("group-name").values("bare").build()).send())
        .expect("describe the group");
    let bare = &groups.security_groups()[0];
    assert_eq!(bare.description(), Some("Managed by Terraform"), "Terraform's default description");
    assert!(bare.ip_permissions_egress().is_empty(), "the default egress rule is removed, as Terraform does: {bare:?}");
    let state: serde_json::Value = serde_json::from_str(&w.run(&["state", "pull"]).success().stdout).expect("state pull is JSON");
    let listed = state["resources"].as_array().expect("resources").iter().find(|r| r["name"] == "listed").expect("the listed group");
    assert_eq!(listed["instances"][0]["attributes"]["ingress"][0]["description"], "https");
    assert_state_has_terraforms_shapes(&w);
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
}

#[test]
fn an_aws_error_is_reported_and_what_was_made_is_recorded() {
    const REGION: &str = "ca-central-1";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    // The subnet lies outside its VPC: only AWS can say so, at apply time.
    w.write(
        "main.tf",
        &format!("{PROVIDER}\nresource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.50.0.0/16\"\n}}\nresource \"aws_subnet\" \"s\" {{\n  vpc_id = aws_vpc.v.id\n  cidr_block = \"10.99.1.0/24\"\n}}\n"),
    );
    w.run_aws(REGION, &["apply", "-auto-approve"]).code(1).contains("aws_subnet.s").contains("InvalidSubnet.Range").contains("10.99.1.0/24");
    assert_eq!(w.run_aws(REGION, &["state", "list"]).stdout, "aws_vpc.v\n", "the VPC that was made is in state");
    assert_eq!(aws.vpc_ids().len(), 1);
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
    assert!(aws.vpc_ids().is_empty());
}

#[test]
fn an_interrupted_create_is_found_by_its_token_not_made_twice() {
    const REGION: &str = "eu-north-1";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    w.write("main.tf", &format!("{PROVIDER}\nresource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.60.0.0/16\"\n}}\n"));
    w.run_aws(REGION, &["init"]).success();
    // A run that died after AWS made the VPC but before state recorded it.
    let token = aws_sdk_ec2::types::Tag::builder().key("terrane:token").value("tok-vpc-1").build();
    aws.block_on(
        aws.ec2
            .create_vpc()
            .cidr_block("10.60.0.0/16")
            .tag_specifications(aws_sdk_ec2::types::TagSpecification::builder().resource_type(aws_sdk_ec2::types::ResourceType::Vpc).tags(token).build())
            .send(),
    )
    .expect("create the VPC the dead run made");
    w.sql(
        "INSERT INTO intents (workspace, address, run_id, action, token, provider, planned, created_at) VALUES \
         ('default', 'aws_vpc.v', 'dead-run', 'create', 'tok-vpc-1', 'provider[\"hashicorp/aws\"]', \
          '{\"cidr_block\":\"10.60.0.0/16\"}', 'then')",
    );
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("adopted 1 object(s)").lacks("aws_vpc.v: Creating...");
    assert_eq!(aws.vpc_ids().len(), 1, "the VPC was adopted, not made twice");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
    assert!(aws.vpc_ids().is_empty());
}

/// A run died while its CreateVpc was still on its way to AWS: the next run does
/// not find the VPC by its token at first, keeps looking while such a create may
/// still land, and adopts the VPC when it appears instead of making a second one.
#[test]
fn a_create_that_lands_after_its_run_died_is_adopted_not_made_twice() {
    const REGION: &str = "ap-southeast-2";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    w.write("main.tf", &format!("{PROVIDER}\nresource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.61.0.0/16\"\n}}\n"));
    w.run_aws(REGION, &["init"]).success();
    w.sql(
        "INSERT INTO intents (workspace, address, run_id, action, token, provider, planned, created_at) VALUES \
         ('default', 'aws_vpc.v', 'dead-run', 'create', 'tok-late-1', 'provider[\"hashicorp/aws\"]', \
          '{\"cidr_block\":\"10.61.0.0/16\"}', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    );
    // The dead run's request reaches AWS three seconds after the next run began.
    let late = std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(3));
        let aws = AwsCheck::new(REGION);
        let token = aws_sdk_ec2::types::Tag::builder().key("terrane:token").value("tok-late-1").build();
        aws.block_on(
            aws.ec2
                .create_vpc()
                .cidr_block("10.61.0.0/16")
                .tag_specifications(aws_sdk_ec2::types::TagSpecification::builder().resource_type(aws_sdk_ec2::types::ResourceType::Vpc).tags(token).build())
                .send(),
        )
        .expect("the late create lands");
    });
    // The plan says the address is held.
    w.run_aws(REGION, &["plan"]).success().contains("Note: an earlier run was interrupted while changing aws_vpc.v (create).");
    w.run_aws(REGION, &["apply", "-auto-approve"])
        .success()
        .contains("adopted 1 object(s): aws_vpc.v.")
        .contains("Apply complete! Resources: 1 recovered from an interrupted run, 0 added")
        .lacks("aws_vpc.v: Creating...");
    late.join().expect("the late create's thread");
    assert_eq!(aws.vpc_ids().len(), 1, "the late VPC was adopted, not made twice");
    assert_eq!(aws.token_tagged(), Vec::<String>::new(), "the adopted VPC's token is taken off");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
    assert!(aws.vpc_ids().is_empty());
}

/// The id `terrane import` takes for an object, from its state values, in the
/// forms Terraform documents.
fn import_id(type_name: &str, values: &serde_json::Value) -> String {
    let text = |name: &str| values[name].as_str().unwrap_or_default().to_string();
    match type_name {
        "aws_s3_object" => format!("{}/{}", text("bucket"), text("key")),
        "aws_route" => format!("{}_{}", text("route_table_id"), text("destination_cidr_block")),
        "aws_iam_role_policy_attachment" => format!("{}/{}", text("role"), text("policy_arn")),
        "aws_volume_attachment" => format!("{}:{}:{}", text("device_name"), text("volume_id"), text("instance_id")),
        "aws_network_acl_rule" => format!("{}:{}:{}:{}", text("network_acl_id"), values["rule_number"], text("protocol"), values["egress"]),
        "aws_security_group_rule" => {
            let cidrs: Vec<&str> = values["cidr_blocks"].as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
            format!(
                "{}_{}_{}_{}_{}_{}",
                text("security_group_id"),
                text("type"),
                text("protocol"),
                values["from_port"],
                values["to_port"],
                cidrs.join("_")
            )
        }
        _ => text("id"),
    }
}

/// Takes every managed object out of state and imports it again by
/// Terraform's import id; the plan after finds nothing to change. Types
/// Terraform cannot import either stay as they are.
fn reimport_every_object(w: &Workdir, endpoint: &str, region: &str) {
    const NOT_IMPORTABLE: &[&str] = &["aws_main_route_table_association"];
    let show: serde_json::Value = serde_json::from_str(&w.run_aws_at(endpoint, region, &["show", "-json"]).success().stdout).expect("show -json is JSON");
    let managed = show["values"]["root_module"]["resources"].as_array().expect("resources").iter().filter(|r| r["mode"] == "managed");
    for r in managed.filter(|r| !NOT_IMPORTABLE.contains(&r["type"].as_str().unwrap_or_default())) {
        let address = r["address"].as_str().expect("an address");
        let id = import_id(r["type"].as_str().unwrap_or_default(), &r["values"]);
        w.run_aws_at(endpoint, region, &["state", "rm", address]).success();
        w.run_aws_at(endpoint, region, &["import", address, &id]).success().contains("Import successful!");
    }
    w.run_aws_at(endpoint, region, &["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
}

/// hashicorp/aws's schemas as recorded for the provider.
fn recorded_schemas() -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/terrane-provider-aws/schema/hashicorp-aws.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("the recorded schema is in the repo")).expect("it is JSON")
}

/// Where a stored object is not in the shape Terraform stores for `block`:
/// every attribute and block type there and nothing else, block types as
/// lists or null (single ones as an object or null), values of each
/// attribute's type.
fn shape_problems(block: &serde_json::Value, object: &serde_json::Value, at: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Some(fields) = object.as_object() else { return vec![format!("{at}: not an object: {object}")] };
    let attributes = block["attributes"].as_object().cloned().unwrap_or_default();
    let block_types = block["block_types"].as_object().cloned().unwrap_or_default();
    for name in fields.keys().filter(|k| !attributes.contains_key(*k) && !block_types.contains_key(*k)) {
        out.push(format!("{at}{name}: not in the schema"));
    }
    for (name, attr) in &attributes {
        match fields.get(name) {
            None => out.push(format!("{at}{name}: missing")),
            Some(value) if !fits(&attr["type"], value) => out.push(format!("{at}{name}: {value} is not a {}", attr["type"])),
            Some(_) => {}
        }
    }
    for (name, nested) in &block_types {
        let inner = &nested["block"];
        match (nested["nesting_mode"].as_str(), fields.get(name)) {
            // Terraform itself writes null for a data source's absent blocks.
            (_, Some(serde_json::Value::Null)) => {}
            (Some("single"), Some(value)) => out.extend(shape_problems(inner, value, &format!("{at}{name}."))),
            (_, Some(serde_json::Value::Array(items))) => {
                for (i, item) in items.iter().enumerate() {
                    out.extend(shape_problems(inner, item, &format!("{at}{name}[{i}].")));
                }
            }
            (mode, value) => out.push(format!("{at}{name}: a {mode:?} block stored as {value:?}")),
        }
    }
    out
}

/// Whether a JSON value is of a cty type in its JSON form.
fn fits(ty: &serde_json::Value, value: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    if value.is_null() {
        return true;
    }
    match (ty, value) {
        (J::String(t), _) => match t.as_str() {
            "string" => value.is_string(),
            "number" => value.is_number(),
            "bool" => value.is_boolean(),
            _ => true,
        },
        (J::Array(parts), _) => match (parts[0].as_str(), value) {
            (Some("list" | "set"), J::Array(items)) => items.iter().all(|i| fits(&parts[1], i)),
            (Some("map"), J::Object(m)) => m.values().all(|v| fits(&parts[1], v)),
            (Some("object"), J::Object(m)) => {
                let attrs = parts[1].as_object().cloned().unwrap_or_default();
                m.len() == attrs.len() && attrs.iter().all(|(k, t)| m.get(k).is_some_and(|v| fits(t, v)))
            }
            _ => false,
        },
        _ => false,
    }
}

/// Every record `state pull` gives is in Terraform's shape for its type and
/// carries Terraform's schema version.
fn assert_state_has_terraforms_shapes(w: &Workdir) {
    let schemas = recorded_schemas();
    let state: serde_json::Value = serde_json::from_str(&w.run(&["state", "pull"]).success().stdout).expect("state pull is JSON");
    let mut problems = Vec::new();
    for resource in state["resources"].as_array().expect("resources") {
        let section = if resource["mode"] == "data" { "data_source_schemas" } else { "resource_schemas" };
        let schema = &schemas[section][resource["type"].as_str().unwrap_or_default()];
        for instance in resource["instances"].as_array().into_iter().flatten() {
            let at = format!("{}.{}: ", resource["type"].as_str().unwrap_or_default(), resource["name"].as_str().unwrap_or_default());
            problems.extend(shape_problems(&schema["block"], &instance["attributes"], &at));
            if instance["schema_version"] != schema["version"] {
                problems.push(format!("{at}schema_version {} where Terraform's is {}", instance["schema_version"], schema["version"]));
            }
        }
    }
    assert!(problems.is_empty(), "state differs from Terraform's shapes:\n{}", problems.join("\n"));
}

#[test]
fn every_resource_type_imports_and_then_plans_clean() {
    const REGION: &str = "us-east-2";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    // The key pair has a test of its own: this endpoint does not report
    // public keys.
    let instance = instance("t3.micro", "boot").replace(
        "resource \"aws_key_pair\" \"deploy\" {\n  key_name   = \"deploy\"\n  public_key = \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHqz8yIYNZZ6b0TCnFHcCfTOOOZ3KqGr1JmNQFyfYZ2y deploy\"\n}\n",
        "",
    );
    let instance = instance.replace("  key_name      = aws_key_pair.deploy.key_name\n", "").replace(PROVIDER, "");
    let network = network("10.10.1.0/24", 80, "imported", true).replace(PROVIDER, "");
    let buckets = s3_stage("terrane-test-import-all", 1);
    let extra = r#"
resource "aws_route_table" "private" {
  vpc_id = aws_vpc.main.id
}

resource "aws_route" "out" {
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.gw.id
}

resource "aws_vpc_security_group_ingress_rule" "dns" {
  security_group_id = aws_security_group.admin.id
  ip_protocol       = "udp"
  from_port         = 53
  to_port           = 53
  cidr_ipv4         = "10.0.0.0/8"
}
"#;
    w.write("main.tf", &format!("{buckets}\n{network}\n{extra}\n{}", instance.replace("aws_vpc\" \"main\"", "aws_vpc\" \"second\"").replace("aws_vpc.main.id", "aws_vpc.second.id").replace("aws_subnet\" \"main\"", "aws_subnet\" \"second\"").replace("aws_subnet.main.id", "aws_subnet.second.id")));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    let show: serde_json::Value = serde_json::from_str(&w.run_aws(REGION, &["show", "-json"]).success().stdout).expect("show -json is JSON");
    let resources = show["values"]["root_module"]["resources"].as_array().expect("resources").clone();
    let types: std::collections::BTreeSet<&str> = resources.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(types.len(), 22, "every managed type but aws_key_pair is here: {types:?}");
    assert_state_has_terraforms_shapes(&w);

    reimport_every_object(&w, &terrane_tests::aws_endpoint(), REGION);
    assert_state_has_terraforms_shapes(&w);
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
    assert!(aws.vpc_ids().is_empty());
    assert!(aws.live_instances().is_empty());
}

#[test]
fn a_key_pair_is_imported_with_its_public_key_and_plans_clean() {
    // The main test endpoint does not report public keys; this one does, as AWS does.
    let endpoint = terrane_tests::aws_keys_endpoint();
    let aws = AwsCheck::at(&endpoint, "us-east-1");
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKL8KQse0SR47IViiw+Sbe8hYH/ap6eWfsfi2smpdQnv";
    let material = aws_sdk_ec2::primitives::Blob::new(key);
    aws.block_on(aws.ec2.import_key_pair().key_name("handmade").public_key_material(material).send()).expect("import a key by hand");
    let w = Workdir::new();
    w.write("main.tf", &format!("{PROVIDER}resource \"aws_key_pair\" \"k\" {{\n  key_name   = \"handmade\"\n  public_key = \"{key} me@laptop\"\n}}\n"));
    let env = [("AWS_ENDPOINT_URL", endpoint.as_str()), ("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_REGION", "us-east-1")];
    w.run_with_env(&["import", "aws_key_pair.k", "handmade"], &env).success().contains("Import successful!");
    w.run_with_env(&["plan", "-detailed-exitcode"], &env).code(0).contains("No changes.");
    w.run_with_env(&["destroy", "-auto-approve"], &env).success().contains("1 destroyed");
    assert!(aws.block_on(aws.ec2.describe_key_pairs().send()).expect("describe key pairs").key_pairs().is_empty());
}

#[test]
fn the_provider_block_alone_can_point_at_an_endpoint_with_aliases_for_regions() {
    let endpoint = terrane_tests::aws_endpoint();
    let w = Workdir::new();
    let provider = |alias: &str, region: &str| {
        format!(
            "provider \"aws\" {{\n  {alias}\n  region = \"{region}\"\n  access_key = \"testing\"\n  secret_key = \"testing\"\n  s3_use_path_style = true\n  \
             endpoints {{\n    ec2 = \"{endpoint}\"\n    s3 = \"{endpoint}\"\n    sts = \"{endpoint}\"\n  }}\n}}\n"
        )
    };
    w.write(
        "main.tf",
        &format!(
            "{PROVIDER}{}{}\
             resource \"aws_vpc\" \"home\" {{\n  cidr_block = \"10.70.0.0/16\"\n}}\n\
             resource \"aws_vpc\" \"away\" {{\n  provider = aws.away\n  cidr_block = \"10.71.0.0/16\"\n}}\n\
             data \"aws_caller_identity\" \"me\" {{}}\n\
             output \"account\" {{ value = data.aws_caller_identity.me.account_id }}\n",
            provider("", "eu-south-1"),
            provider("alias = \"away\"", "eu-south-2"),
        ),
    );
    // No AWS_* variables at all: everything comes from the configuration.
    w.run(&["apply", "-auto-approve"]).success().contains("2 added").contains("account = \"123456789012\"");
    assert_eq!(AwsCheck::new("eu-south-1").vpc_ids().len(), 1);
    assert_eq!(AwsCheck::new("eu-south-2").vpc_ids().len(), 1);
    w.run(&["plan", "-detailed-exitcode"]).code(0);
    w.run(&["destroy", "-auto-approve"]).success();
    assert!(AwsCheck::new("eu-south-1").vpc_ids().is_empty() && AwsCheck::new("eu-south-2").vpc_ids().is_empty());
}

/// A module may configure its own provider (Terraform's legacy rule): one
/// module called twice lays a VPC out in two regions. Called with count, it
/// may not.
#[test]
fn a_module_configures_its_own_provider_unless_it_is_repeated() {
    let w = Workdir::new();
    w.write(
        "regional/main.tf",
        "variable \"region\" {\n  type = string\n}\n\nprovider \"aws\" {\n  region = var.region\n}\n\n\
         resource \"aws_vpc\" \"v\" {\n  cidr_block = \"10.72.0.0/16\"\n}\n\noutput \"arn\" {\n  value = aws_vpc.v.arn\n}\n",
    );
    let calls = "module \"central\" {\n  source = \"./regional\"\n  region = \"eu-central-2\"\n}\n\n\
                 module \"southeast\" {\n  source = \"./regional\"\n  region = \"ap-southeast-3\"\n}\n\n\
                 output \"arns\" {\n  value = [module.central.arn, module.southeast.arn]\n}\n";
    w.write("main.tf", &format!("{PROVIDER}{calls}"));
    w.run_aws("us-east-1", &["init"]).success();
    w.run_aws("us-east-1", &["apply", "-auto-approve"]).success().contains("2 added").contains(":eu-central-2:").contains(":ap-southeast-3:");
    assert_eq!(AwsCheck::new("eu-central-2").vpc_ids().len(), 1, "one VPC in the first module's region");
    assert_eq!(AwsCheck::new("ap-southeast-3").vpc_ids().len(), 1, "one in the second's");
    let state: serde_json::Value = serde_json::from_str(&w.run(&["state", "pull"]).success().stdout).expect("state pull is JSON");
    let providers: Vec<&str> = state["resources"].as_array().expect("resources").iter().filter_map(|r| r["provider"].as_str()).collect();
    assert!(providers.iter().any(|p| p.starts_with("module.central.provider[")), "each object names its module's provider: {providers:?}");
    w.run_aws("us-east-1", &["plan", "-detailed-exitcode"]).code(0);
    w.run_aws("us-east-1", &["destroy", "-auto-approve"]).success();
    assert!(AwsCheck::new("eu-central-2").vpc_ids().is_empty() && AwsCheck::new("ap-southeast-3").vpc_ids().is_empty());

    w.write("main.tf", &format!("{PROVIDER}module \"many\" {{\n  source = \"./regional\"\n  count  = 2\n  region = \"eu-central-2\"\n}}\n"));
    w.run_aws("us-east-1", &["plan"]).code(1).contains("regional/main.tf:5:1").contains("module.many configures a provider").contains("count, for_each or depends_on");
}

/// `metadata_options` as Terraform takes it: set at launch, changed in place.
#[test]
fn instance_metadata_options_are_set_and_changed_in_place() {
    const REGION: &str = "ap-northeast-3";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    let config = |tokens: &str| {
        format!(
            "{PROVIDER}resource \"aws_instance\" \"app\" {{\n  ami           = \"ami-12c6146b\"\n  instance_type = \"t3.micro\"\n  \
             metadata_options {{\n    http_tokens = \"{tokens}\"\n  }}\n}}\n"
        )
    };
    let tokens = || {
        let out = aws.block_on(aws.ec2.describe_instances().send()).expect("describe instances");
        let live: Vec<_> = out.reservations().iter().flat_map(|r| r.instances()).filter(|i| i.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated")).collect();
        assert_eq!(live.len(), 1, "one instance");
        live[0].metadata_options().and_then(|m| m.http_tokens()).map(|t| t.as_str().to_string())
    };
    w.write("main.tf", &config("required"));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    assert_eq!(tokens().as_deref(), Some("required"), "IMDSv2 is required from launch");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    w.write("main.tf", &config("optional"));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("1 changed").contains("0 destroyed");
    assert_eq!(tokens().as_deref(), Some("optional"));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
    assert!(aws.live_instances().is_empty());
}

#[test]
fn a_missing_region_is_a_clear_error() {
    let w = Workdir::new();
    w.write("main.tf", &format!("{PROVIDER}resource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.80.0.0/16\"\n}}\n"));
    w.run_with_env(&["plan"], &[("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"), ("AWS_CONFIG_FILE", "/nonexistent"), ("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "")])
        .code(1)
        .contains("no AWS region: set region in the provider block, or")
        .contains("AWS_REGION");
}

/// Every EC2 type at four stages: 2 changes what AWS changes in place, 3 what
/// forces a new object, 4 the VPC's CIDR, which replaces everything in it. The
/// internet gateway and the address have nothing that forces a new one (an
/// address's only such attribute, its domain, has one valid value since
/// EC2-Classic ended), so they are replaced only with the VPC and the instance.
fn ec2_stage(stage: u8) -> String {
    let net = if stage >= 4 { "10.61" } else { "10.60" };
    let tag = if stage >= 2 { "two" } else { "one" };
    let on = stage >= 2;
    let subnet = if stage >= 3 { 2 } else { 1 };
    let route_cidr = if stage >= 2 { "0.0.0.0/0" } else { "192.168.0.0/16" };
    let route_target = if stage >= 2 { "network_interface_id = aws_instance.nat.primary_network_interface_id" } else { "gateway_id = aws_internet_gateway.gw.id" };
    let out_cidr = if stage >= 3 { "172.16.0.0/12" } else { "0.0.0.0/0" };
    let table = if stage >= 2 { "private" } else { "public" };
    let web = if stage >= 3 { "web-v2" } else { "web" };
    let web_port = if stage >= 2 { 8443 } else { 443 };
    let ssh_port = if stage >= 3 { 2222 } else { 22 };
    let dns_group = if stage >= 3 { "ops" } else { "admin" };
    let dns_port = if stage >= 2 { 5353 } else { 53 };
    let key = if stage >= 3 { "AAAAC3NzaC1lZDI1NTE5AAAAIKL8KQse0SR47IViiw+Sbe8hYH/ap6eWfsfi2smpdQnv" } else { "AAAAC3NzaC1lZDI1NTE5AAAAIHqz8yIYNZZ6b0TCnFHcCfTOOOZ3KqGr1JmNQFyfYZ2y" };
    format!(
        r#"{PROVIDER}
data "aws_ami" "linux" {{
  owners = ["amazon"]
  filter {{
    name   = "name"
    values = ["amzn2-ami-hvm-*-x86_64-gp2"]
  }}
  most_recent = true
}}

resource "aws_vpc" "main" {{
  cidr_block           = "{net}.0.0/16"
  enable_dns_hostnames = {on}
  tags                 = {{ Name = "{tag}" }}
}}

resource "aws_subnet" "app" {{
  vpc_id                  = aws_vpc.main.id
  cidr_block              = "{net}.{subnet}.0/24"
  map_public_ip_on_launch = {on}
  tags                    = {{ Name = "{tag}" }}
}}

resource "aws_internet_gateway" "gw" {{
  vpc_id = aws_vpc.main.id
  tags   = {{ Name = "{tag}" }}
}}

resource "aws_instance" "nat" {{
  ami           = data.aws_ami.linux.id
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.app.id
  key_name      = aws_key_pair.deploy.key_name
}}

resource "aws_route_table" "public" {{
  vpc_id = aws_vpc.main.id
  tags   = {{ Name = "{tag}" }}
  route {{
    cidr_block = "{route_cidr}"
    gateway_id = aws_internet_gateway.gw.id
  }}
}}

resource "aws_route_table" "private" {{
  vpc_id = aws_vpc.main.id
}}

resource "aws_route" "out" {{
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "{out_cidr}"
  {route_target}
}}

resource "aws_route_table_association" "app" {{
  subnet_id      = aws_subnet.app.id
  route_table_id = aws_route_table.{table}.id
}}

resource "aws_security_group" "web" {{
  name   = "{web}"
  vpc_id = aws_vpc.main.id
  tags   = {{ Name = "{tag}" }}
  ingress {{
    from_port   = {web_port}
    to_port     = {web_port}
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}
}}

resource "aws_security_group" "admin" {{
  name   = "admin"
  vpc_id = aws_vpc.main.id
}}

# Rules as resources of their own go on groups without inline rules.
resource "aws_security_group" "ops" {{
  name   = "ops"
  vpc_id = aws_vpc.main.id
}}

resource "aws_security_group_rule" "ssh" {{
  type              = "ingress"
  security_group_id = aws_security_group.admin.id
  from_port         = {ssh_port}
  to_port           = {ssh_port}
  protocol          = "tcp"
  cidr_blocks       = ["192.168.0.0/16"]
  description       = "ssh {tag}"
}}

resource "aws_vpc_security_group_ingress_rule" "dns" {{
  security_group_id = aws_security_group.{dns_group}.id
  ip_protocol       = "udp"
  from_port         = {dns_port}
  to_port           = {dns_port}
  cidr_ipv4         = "10.0.0.0/8"
  description       = "dns {tag}"
}}

resource "aws_vpc_security_group_egress_rule" "https" {{
  security_group_id = aws_security_group.admin.id
  ip_protocol       = "tcp"
  from_port         = {web_port}
  to_port           = {web_port}
  cidr_ipv4         = "0.0.0.0/0"
}}

resource "aws_eip" "ip" {{
  domain = "vpc"
  tags   = {{ Name = "{tag}" }}
}}

resource "aws_key_pair" "deploy" {{
  key_name   = "deploy"
  public_key = "ssh-ed25519 {key} deploy"
  tags       = {{ Name = "{tag}" }}
}}
"#
    )
}

#[test]
fn every_ec2_type_changes_in_place_and_is_replaced_where_aws_requires() {
    const REGION: &str = "ap-south-1";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    w.write("main.tf", &ec2_stage(1));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("Resources: 16 added");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    let vpc = aws.vpc_ids();

    w.write("main.tf", &ec2_stage(2));
    let updated = [
        "aws_vpc.main",
        "aws_subnet.app",
        "aws_internet_gateway.gw",
        "aws_route_table.public",
        "aws_route.out",
        "aws_route_table_association.app",
        "aws_security_group.web",
        "aws_security_group_rule.ssh",
        "aws_vpc_security_group_ingress_rule.dns",
        "aws_vpc_security_group_egress_rule.https",
        "aws_eip.ip",
        "aws_key_pair.deploy",
    ];
    let plan = w.run_aws(REGION, &["plan", "-detailed-exitcode"]);
    plan.code(2);
    for address in updated {
        plan.contains(&format!("# {address} will be updated in-place"));
    }
    plan.contains("Plan: 0 to add, 12 to change, 0 to destroy.");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("0 added, 12 changed, 0 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    assert_eq!(aws.vpc_ids(), vpc, "the VPC stayed");
    let subnets = aws.block_on(aws.ec2.describe_subnets().filters(filter("vpc-id", &vpc[0])).send()).expect("describe subnets");
    assert_eq!(subnets.subnets()[0].map_public_ip_on_launch(), Some(true));
    let nic = aws.block_on(aws.ec2.describe_instances().instance_ids(&aws.live_instances()[0]).send()).expect("describe the instance");
    let nic = nic.reservations()[0].instances()[0].network_interfaces()[0].network_interface_id().map(str::to_string);
    let tables = aws.block_on(aws.ec2.describe_route_tables().filters(filter("vpc-id", &vpc[0])).send()).expect("describe route tables");
    let out_route = tables.route_tables().iter().flat_map(|t| t.routes()).find(|r| r.destination_cidr_block() == Some("0.0.0.0/0") && r.network_interface_id().is_some());
    assert_eq!(out_route.and_then(|r| r.network_interface_id()).map(str::to_string), nic, "the route now goes to the instance");
    let rules = aws.block_on(aws.ec2.describe_security_group_rules().send()).expect("describe rules");
    assert!(rules.security_group_rules().iter().any(|r| r.from_port() == Some(5353) && r.description() == Some("dns two")), "the rule was modified");

    w.write("main.tf", &ec2_stage(3));
    let replaced = [
        "aws_subnet.app",
        "aws_instance.nat",
        "aws_route.out",
        "aws_route_table_association.app",
        "aws_security_group.web",
        "aws_security_group_rule.ssh",
        "aws_vpc_security_group_ingress_rule.dns",
        "aws_key_pair.deploy",
    ];
    let plan = w.run_aws(REGION, &["plan", "-detailed-exitcode"]);
    plan.code(2);
    for address in replaced {
        plan.contains(&format!("# {address} must be replaced"));
    }
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    let groups = aws.block_on(aws.ec2.describe_security_groups().filters(filter("vpc-id", &vpc[0])).send()).expect("describe groups");
    let mut names: Vec<&str> = groups.security_groups().iter().filter_map(|g| g.group_name()).collect();
    names.sort();
    assert_eq!(names, ["admin", "default", "ops", "web-v2"]);
    assert_eq!(aws.live_instances().len(), 1);

    w.write("main.tf", &ec2_stage(4));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(2).contains("# aws_vpc.main must be replaced").contains("# aws_route_table.private must be replaced");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    let now = aws.vpc_ids();
    assert_eq!(now.len(), 1);
    assert_ne!(now, vpc);

    w.run_aws(REGION, &["destroy", "-auto-approve"]).success().contains("16 destroyed");
    assert!(aws.vpc_ids().is_empty());
    assert!(aws.live_instances().is_empty());
    assert!(aws.block_on(aws.ec2.describe_addresses().send()).expect("describe addresses").addresses().is_empty());
    assert!(aws.block_on(aws.ec2.describe_key_pairs().send()).expect("describe key pairs").key_pairs().is_empty());
}

/// Every bucket setting at three stages: 2 changes each in place, 3 renames
/// the buckets, which replaces them and every setting on them.
fn s3_stage(prefix: &str, stage: u8) -> String {
    let suffix = if stage >= 3 { "b" } else { "a" };
    let on = stage >= 2;
    let tag = if stage >= 2 { "two" } else { "one" };
    let status = if stage >= 2 { "Suspended" } else { "Enabled" };
    let ownership = if stage >= 2 { "BucketOwnerPreferred" } else { "BucketOwnerEnforced" };
    let actions = if stage >= 2 { r#"["s3:GetObject", "s3:GetObjectVersion"]"# } else { r#"["s3:GetObject"]"# };
    let acl = if stage >= 2 { "public-read" } else { "private" };
    let index = if stage >= 2 { "main.html" } else { "index.html" };
    let days = if stage >= 2 { 60 } else { 30 };
    let key = if stage >= 3 { "home.html" } else { "index.html" };
    // Left out at first: S3 then reports its own value, false.
    let key_flag = if stage >= 2 { "\n    bucket_key_enabled = true" } else { "" };
    format!(
        r#"{PROVIDER}
provider "aws" {{
  default_tags {{
    tags = {{ team = "{tag}" }}
  }}
}}

resource "aws_s3_bucket" "site" {{
  bucket = "{prefix}-site-{suffix}"
  tags   = {{ Name = "{tag}" }}
}}

# Versioning goes on a bucket without objects: the test server cannot delete
# the delete markers of a bucket whose versioning was suspended, as destroy does.
resource "aws_s3_bucket" "logs" {{
  bucket = "{prefix}-logs-{suffix}"
}}

resource "aws_s3_bucket_versioning" "logs" {{
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {{
    status = "{status}"
  }}
}}

resource "aws_s3_bucket_public_access_block" "site" {{
  bucket             = aws_s3_bucket.site.id
  block_public_acls  = true
  ignore_public_acls = {on}
}}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {{
  bucket = aws_s3_bucket.site.id
  rule {{{key_flag}
    apply_server_side_encryption_by_default {{
      sse_algorithm = "AES256"
    }}
  }}
}}

resource "aws_s3_bucket_ownership_controls" "site" {{
  bucket = aws_s3_bucket.site.id
  rule {{
    object_ownership = "{ownership}"
  }}
}}

data "aws_iam_policy_document" "read" {{
  statement {{
    actions   = {actions}
    resources = ["${{aws_s3_bucket.site.arn}}/*"]
    principals {{
      type        = "AWS"
      identifiers = ["arn:aws:iam::123456789012:root"]
    }}
  }}
}}

resource "aws_s3_bucket_policy" "site" {{
  bucket = aws_s3_bucket.site.id
  policy = data.aws_iam_policy_document.read.json
}}

resource "aws_s3_bucket_acl" "logs" {{
  bucket = aws_s3_bucket.logs.id
  acl    = "{acl}"
}}

resource "aws_s3_bucket_website_configuration" "site" {{
  bucket = aws_s3_bucket.site.id
  index_document {{
    suffix = "{index}"
  }}
}}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {{
  bucket = aws_s3_bucket.logs.id
  rule {{
    id     = "expire"
    status = "Enabled"
    filter {{
      prefix = "logs/"
    }}
    expiration {{
      days = {days}
    }}
    transition {{
      days          = 7
      storage_class = "STANDARD_IA"
    }}
  }}
}}

resource "aws_s3_object" "index" {{
  bucket       = aws_s3_bucket.site.id
  key          = "{key}"
  content      = "<h1>{tag}</h1>"
  content_type = "text/html"
}}
"#
    )
}

#[test]
fn every_bucket_setting_changes_in_place_and_is_replaced_with_its_bucket() {
    const REGION: &str = "eu-central-1";
    let aws = AwsCheck::new(REGION);
    let (site, logs) = ("terrane-stages-site-a", "terrane-stages-logs-a");
    let object_body = |bucket: &str, key: &str| {
        aws.block_on(async {
            let out = aws.s3.get_object().bucket(bucket).key(key).send().await.expect("get the object");
            out.body.collect().await.expect("read the object").into_bytes()
        })
    };
    let w = Workdir::new();
    w.write("main.tf", &s3_stage("terrane-stages", 1));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("Resources: 11 added");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    let tags = aws.block_on(aws.s3.get_bucket_tagging().bucket(site).send()).expect("bucket tags");
    let tags: Vec<(&str, &str)> = tags.tag_set().iter().map(|t| (t.key(), t.value())).collect();
    assert!(tags.contains(&("team", "one")) && tags.contains(&("Name", "one")), "default and own tags: {tags:?}");

    // Stage 2 changes every setting, the tags and the object's content in place.
    w.write("main.tf", &s3_stage("terrane-stages", 2));
    let updated = [
        "aws_s3_bucket.site",
        "aws_s3_bucket.logs",
        "aws_s3_object.index",
        "aws_s3_bucket_versioning.logs",
        "aws_s3_bucket_public_access_block.site",
        "aws_s3_bucket_server_side_encryption_configuration.site",
        "aws_s3_bucket_ownership_controls.site",
        "aws_s3_bucket_policy.site",
        "aws_s3_bucket_acl.logs",
        "aws_s3_bucket_website_configuration.site",
        "aws_s3_bucket_lifecycle_configuration.logs",
    ];
    let plan = w.run_aws(REGION, &["plan", "-detailed-exitcode"]);
    plan.code(2).contains("Plan: 0 to add, 11 to change, 0 to destroy.");
    for address in updated {
        plan.contains(&format!("# {address} will be updated in-place"));
    }
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("0 added, 11 changed, 0 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    assert_eq!(&object_body(site, "index.html")[..], b"<h1>two</h1>");
    let versioning = aws.block_on(aws.s3.get_bucket_versioning().bucket(logs).send()).expect("versioning");
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Suspended"));
    let ownership = aws.block_on(aws.s3.get_bucket_ownership_controls().bucket(site).send()).expect("ownership");
    let rule = &ownership.ownership_controls().expect("controls").rules()[0];
    assert_eq!(rule.object_ownership().as_str(), "BucketOwnerPreferred");
    let website = aws.block_on(aws.s3.get_bucket_website().bucket(site).send()).expect("website");
    assert_eq!(website.index_document().map(|d| d.suffix()), Some("main.html"));
    let lifecycle = aws.block_on(aws.s3.get_bucket_lifecycle_configuration().bucket(logs).send()).expect("lifecycle");
    assert_eq!(lifecycle.rules()[0].expiration().and_then(|e| e.days()), Some(60));
    let acl = aws.block_on(aws.s3.get_bucket_acl().bucket(logs).send()).expect("acl");
    assert!(acl.grants().iter().any(|g| g.grantee().and_then(|g| g.uri()).is_some_and(|u| u.ends_with("AllUsers"))), "public-read grants everyone read");

    // Stage 3 renames the buckets: each is replaced, and everything on it.
    w.write("main.tf", &s3_stage("terrane-stages", 3));
    let plan = w.run_aws(REGION, &["plan", "-detailed-exitcode"]);
    plan.code(2).contains("Plan: 11 to add, 0 to change, 11 to destroy.");
    for address in updated {
        plan.contains(&format!("# {address} must be replaced"));
    }
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    let names = aws.bucket_names();
    assert!(names.contains(&"terrane-stages-site-b".to_string()) && names.contains(&"terrane-stages-logs-b".to_string()));
    assert!(!names.contains(&site.to_string()) && !names.contains(&logs.to_string()), "the old buckets are gone: {names:?}");
    let listed = aws.block_on(aws.s3.list_objects_v2().bucket("terrane-stages-site-b").send()).expect("list objects");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["home.html"]);

    w.run_aws(REGION, &["destroy", "-auto-approve"]).success().contains("11 destroyed");
    let names = aws.bucket_names();
    assert!(!names.iter().any(|n| n.starts_with("terrane-stages-")), "destroy left buckets: {names:?}");
}

#[test]
fn rejected_credentials_are_not_retried_and_say_where_they_came_from() {
    let w = Workdir::new();
    w.write("main.tf", &format!("{PROVIDER}resource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.90.0.0/16\"\n}}\n"));
    let secret = "wJalrXUtnFEMI-not-a-real-secret";
    let (endpoint, before) = terrane_tests::aws_strict_endpoint();
    let env = [("AWS_ENDPOINT_URL", endpoint.as_str()), ("AWS_ACCESS_KEY_ID", "AKIAREJECTEDKEY"), ("AWS_SECRET_ACCESS_KEY", secret), ("AWS_REGION", "us-east-1")];
    w.run_with_env(&["plan"], &env)
        .code(1)
        .contains("credentials rejected (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment)")
        .contains("InvalidClientTokenId")
        .lacks(secret);
    // The server logs a request just after answering it: give the log a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while terrane_tests::aws_strict_endpoint().1 == before && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (_, after) = terrane_tests::aws_strict_endpoint();
    assert_eq!(after - before, 1, "the rejected call was made once, not retried");

    // From a profile, the error names the profile.
    w.write("credentials", &format!("[ci]\naws_access_key_id = AKIAREJECTEDKEY\naws_secret_access_key = {secret}\n"));
    w.write("main.tf", &format!("{PROVIDER}provider \"aws\" {{\n  profile = \"ci\"\n  region  = \"us-east-1\"\n}}\nresource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.90.0.0/16\"\n}}\n"));
    let credentials = w.path().join("credentials");
    let env = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().expect("a UTF-8 path")),
        ("AWS_CONFIG_FILE", "/nonexistent"),
    ];
    w.run_with_env(&["apply", "-auto-approve"], &env).code(1).contains("credentials rejected (profile \"ci\" in the shared AWS config)").lacks(secret);
    assert_eq!(w.run(&["state", "list"]).stdout, "", "nothing was recorded");

    // The provider block names the file, as Terraform's shared_credentials_files.
    let provider_with_files = |files: &str| {
        format!(
            "{PROVIDER}provider \"aws\" {{\n  profile                  = \"ci\"\n  region                   = \"us-east-1\"\n  \
             shared_credentials_files = [\"{files}\"]\n}}\nresource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.90.0.0/16\"\n}}\n"
        )
    };
    let env = [("AWS_ENDPOINT_URL", endpoint.as_str()), ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"), ("AWS_CONFIG_FILE", "/nonexistent")];
    w.write("main.tf", &provider_with_files("credentials"));
    w.run_with_env(&["apply", "-auto-approve"], &env).code(1).contains("credentials rejected (profile \"ci\" in credentials)").lacks(secret);
    w.write("main.tf", &provider_with_files("missing-credentials"));
    w.run_with_env(&["plan"], &env).code(1).contains("shared AWS file missing-credentials does not exist");
}

#[test]
fn throttling_and_server_errors_are_retried_until_aws_answers() {
    use terrane_tests::faults::{Fault, FaultyEndpoint, EC2_THROTTLED, EC2_UNAVAILABLE};
    const REGION: &str = "af-south-1";
    let endpoint = FaultyEndpoint::start(
        &terrane_tests::aws_endpoint(),
        vec![
            Fault { action: "Action=CreateVpc", times: 3, status: 400, body: EC2_THROTTLED },
            Fault { action: "Action=DescribeVpcs", times: 2, status: 503, body: EC2_UNAVAILABLE },
        ],
    );
    let w = Workdir::new();
    w.write("main.tf", &format!("{PROVIDER}resource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.95.0.0/16\"\n}}\n"));
    let mut env = terrane_tests::aws_env(REGION);
    env.retain(|(name, _)| *name != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", endpoint.url.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    w.run_with_env(&["apply", "-auto-approve"], &env).success().contains("1 added");
    assert_eq!(endpoint.refused(), [3, 2], "every refusal was met with a retry");
    let aws = AwsCheck::new(REGION);
    assert_eq!(aws.vpc_ids().len(), 1, "one VPC, however many attempts");
    w.run_with_env(&["plan", "-detailed-exitcode"], &env).code(0);
    w.run_with_env(&["destroy", "-auto-approve"], &env).success();
    assert!(aws.vpc_ids().is_empty());

    // Throttling that does not stop ends after max_retries, with AWS's words.
    let endpoint = FaultyEndpoint::start(
        &terrane_tests::aws_endpoint(),
        vec![Fault { action: "Action=CreateVpc", times: usize::MAX, status: 400, body: EC2_THROTTLED }],
    );
    let env: Vec<(&str, &str)> = env.iter().map(|&(k, v)| if k == "AWS_ENDPOINT_URL" { (k, endpoint.url.as_str()) } else { (k, v) }).collect();
    w.write("main.tf", &format!("{PROVIDER}provider \"aws\" {{\n  max_retries = 2\n}}\nresource \"aws_vpc\" \"v\" {{\n  cidr_block = \"10.95.0.0/16\"\n}}\n"));
    w.run_with_env(&["apply", "-auto-approve"], &env).code(1).contains("ec2 error RequestLimitExceeded: Request limit exceeded.");
    assert_eq!(endpoint.refused(), [3], "one attempt and two retries");
    assert!(aws.vpc_ids().is_empty());
    assert_eq!(w.run(&["state", "list"]).stdout, "", "nothing was recorded");
}

/// The golden path: examples/platform calls modules/service once per
/// environment, and modules/service calls modules/network.
#[test]
fn the_platform_modules_build_one_network_per_environment() {
    const REGION: &str = "eu-west-3";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    let root = terrane_tests::repo_root();
    for file in ["modules/network/main.tf", "modules/service/main.tf", "examples/platform/main.tf"] {
        w.write(file, &std::fs::read_to_string(root.join(file)).expect("read the platform files"));
    }
    let chdir = "-chdir=examples/platform";
    // Per environment: VPC, 2 + 2 subnets, gateway, route table, route, 2
    // associations, security group, bucket.
    w.run_aws(REGION, &[chdir, "apply", "-auto-approve"])
        .success()
        .contains(r#"module.service["staging"].module.network.aws_subnet.public["eu-west-3a"]: Creation complete"#)
        .contains("Apply complete! Resources: 24 added, 0 changed, 0 destroyed.");
    let vpcs = aws.block_on(aws.ec2.describe_vpcs().filters(filter("tag:platform", "terrane")).send()).expect("describe VPCs");
    let mut cidrs: Vec<&str> = vpcs.vpcs().iter().filter_map(|v| v.cidr_block()).collect();
    cidrs.sort();
    assert_eq!(cidrs, ["10.10.0.0/16", "10.20.0.0/16"], "one VPC per environment");
    let staging = vpcs.vpcs().iter().find(|v| v.cidr_block() == Some("10.10.0.0/16")).and_then(|v| v.vpc_id()).unwrap().to_string();
    let subnets = aws.block_on(aws.ec2.describe_subnets().filters(filter("vpc-id", &staging)).send()).expect("describe subnets");
    let mut layout: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .map(|s| (s.cidr_block().unwrap_or_default().to_string(), s.availability_zone().unwrap_or_default().to_string()))
        .collect();
    layout.sort();
    assert_eq!(
        layout,
        [
            ("10.10.0.0/20".to_string(), "eu-west-3a".to_string()),
            ("10.10.16.0/20".to_string(), "eu-west-3b".to_string()),
            ("10.10.32.0/20".to_string(), "eu-west-3a".to_string()),
            ("10.10.48.0/20".to_string(), "eu-west-3b".to_string()),
        ],
        "public subnets first, then private, one of each per zone, carved with cidrsubnet"
    );
    let production_group =
        aws.block_on(aws.ec2.describe_security_groups().group_names("shop-production-service").send()).expect("describe the group");
    let ports: Vec<i32> = production_group.security_groups()[0].ip_permissions().iter().filter_map(|p| p.from_port()).collect();
    assert_eq!(ports, [8443], "production's optional port reached the module");
    let outputs: serde_json::Value =
        serde_json::from_str(&w.run_aws(REGION, &[chdir, "output", "-json"]).success().all()).expect("output -json is JSON");
    assert_eq!(outputs["environments"]["value"]["staging"]["vpc_id"], staging.as_str());
    w.run_aws(REGION, &[chdir, "plan", "-detailed-exitcode"]).code(0).contains("No changes.");

    // Dropping an environment destroys that environment's objects only.
    let example = w.read("examples/platform/main.tf").unwrap();
    w.write("examples/platform/main.tf", &example.replace("    production = { cidr = \"10.20.0.0/16\", port = 8443 }\n", ""));
    w.run_aws(REGION, &[chdir, "apply", "-auto-approve"]).success().contains("Resources: 0 added, 0 changed, 12 destroyed.");
    assert_eq!(aws.vpc_ids(), [staging.clone()]);
    w.run_aws(REGION, &[chdir, "destroy", "-auto-approve"]).success().contains("12 destroyed");
    assert!(aws.vpc_ids().is_empty(), "destroy left VPCs behind: {:?}", aws.vpc_ids());
}

/// VPCs and subnets for the crash test, one pair per index.
fn vpcs_and_subnets(count: usize) -> String {
    format!(
        "{PROVIDER}\nresource \"aws_vpc\" \"v\" {{\n  count      = {count}\n  cidr_block = \"10.${{count.index}}.0.0/16\"\n}}\n\n\
         resource \"aws_subnet\" \"s\" {{\n  count      = {count}\n  vpc_id     = aws_vpc.v[count.index].id\n  cidr_block = \"10.${{count.index}}.1.0/24\"\n}}\n"
    )
}

/// Starts an apply (or destroy) and kills it (SIGKILL) once it has started
/// `changes` provider calls plus `extra_millis`, so kills land inside calls.
fn killed_after(w: &Workdir, env: &[(&str, &str)], command: &str, changes: usize, extra_millis: u64) {
    use std::io::BufRead as _;
    let mut child = w.spawn(&[command, "-auto-approve", "-parallelism=8"], env);
    let stdout = child.stdout.take().expect("piped stdout");
    let mut started = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if line.ends_with("Creating...") || line.ends_with("Destroying...") {
            started += 1;
            if started >= changes {
                std::thread::sleep(std::time::Duration::from_millis(extra_millis));
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Applies and a destroy of VPCs and subnets, each killed at a random moment
/// and followed by a run that converges; nothing is ever made twice or left
/// behind. Run against both moto versions the suite starts (5.1.10 and 5.2).
fn crash_rounds(endpoint: &str, seed: u64) {
    const REGION: &str = "ap-east-1";
    const MOST: usize = 16;
    let aws = AwsCheck::at(endpoint, REGION);
    let w = Workdir::new();
    let mut env = terrane_tests::aws_env_at(endpoint, REGION);
    // Shorter than the 60 s default, to keep rounds fast, but well past the
    // ~2.5 s moto 5.2 takes over a region's first call: a create killed while
    // moto still serves it lands after the kill, and a window shorter than
    // that makes the next run create the VPC again.
    env.push(("TERRANE_RECOVERY_WINDOW", "20".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    w.write("main.tf", &vpcs_and_subnets(MOST));
    w.run_with_env(&["init"], &env).success();
    let mut state = seed;
    let mut next = |bound: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % bound
    };
    let mut cut_mid_change = 0;
    for round in 0..8u64 {
        // Alternate sizes so kills land in creates and in deletes.
        let count = if round % 2 == 0 { MOST } else { MOST / 2 };
        w.write("main.tf", &vpcs_and_subnets(count));
        killed_after(&w, &env, "apply", 1 + next(12) as usize, next(30));
        if w.run_with_env(&["apply", "-auto-approve", "-parallelism=8"], &env).success().stdout.contains("interrupted change(s) from an earlier run") {
            cut_mid_change += 1;
        }
        let vpcs = aws.vpc_ids();
        assert_eq!(vpcs.len(), count, "{endpoint}, seed {seed}, round {round}: {count} VPCs, each once: {vpcs:?}");
        let listed = w.run_with_env(&["state", "list"], &env).success().stdout.lines().count();
        assert_eq!(listed, 2 * count, "{endpoint}, seed {seed}, round {round}: each object in state once");
        assert_eq!(aws.token_tagged(), Vec::<String>::new(), "{endpoint}, round {round}: no token left on a converged object");
        w.run_with_env(&["plan", "-detailed-exitcode"], &env).code(0);
    }
    // The kills must land inside provider calls, or this test proves nothing.
    assert!(cut_mid_change >= 3, "{endpoint}, seed {seed}: only {cut_mid_change} of 8 kills interrupted a change");
    killed_after(&w, &env, "destroy", 1 + next(12) as usize, next(30));
    w.run_with_env(&["destroy", "-auto-approve"], &env).success();
    assert!(aws.vpc_ids().is_empty(), "{endpoint}: the destroy leaves nothing");
}

#[test]
fn sigkill_during_aws_applies_never_duplicates_or_leaks_on_either_moto() {
    let seed = std::env::var("TERRANE_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261203u64);
    let older = std::thread::spawn(move || crash_rounds(&terrane_tests::aws_endpoint(), seed));
    crash_rounds(&terrane_tests::aws_keys_endpoint(), seed);
    older.join().expect("the run against moto 5.1.10");
}

/// The seed scripts/oracle-aws-state gave moto's ids when Terraform ran.
const ROUND_TRIP_SEED: u64 = 20261203;

/// Attributes of Terraform's state that were already stale when Terraform
/// wrote it, or that carry the time of the replay: a refresh reads them
/// anew under Terraform as well.
const REFRESHED_BY_ANY_READ: &[(&str, &str)] = &[
    // The EIP was associated after the instance was recorded.
    ("aws_instance", "public_ip"),
    ("aws_instance", "public_dns"),
    // The policy was attached after it was recorded.
    ("aws_iam_policy", "attachment_count"),
    // Routes and rules made by resources of their own after the table and
    // the group were recorded.
    ("aws_route_table", "route"),
    ("aws_security_group", "ingress"),
    ("aws_security_group", "egress"),
    // The volume's attachment and the extra address's association were
    // made after the volume and the address were recorded.
    ("aws_eip", "association_id"),
    ("aws_eip", "instance"),
    ("aws_eip", "private_ip"),
    // The replay makes the objects again, now.
    ("aws_ebs_volume", "create_time"),
    ("aws_iam_role", "create_date"),
    ("aws_iam_instance_profile", "create_date"),
    // The extra volume was attached, the extra ACL given its rule, and the
    // peer VPC another main table, after each was recorded.
    ("aws_instance", "ebs_block_device"),
    ("aws_network_acl", "ingress"),
    ("aws_vpc", "main_route_table_id"),
    ("aws_vpc", "default_route_table_id"),
];

#[test]
fn terraforms_state_imports_plans_clean_and_reads_back_as_terraform_wrote_it() {
    let endpoint = terrane_tests::aws_replay_endpoint();
    terrane_tests::replay_into_moto(&endpoint, ROUND_TRIP_SEED, include_bytes!("../fixtures/terraform-aws/moto-requests.jsonl"));
    let w = Workdir::copy_of("tests/fixtures/terraform-aws");
    // moto answers DeleteLaunchTemplate with XML the SDK refuses; the relay mends it.
    let mended = terrane_tests::faults::FaultyEndpoint::mending(&endpoint);
    let env = [("TF_VAR_endpoint", mended.url.as_str())];
    let terraform: serde_json::Value = serde_json::from_str(&w.read("terraform.tfstate").expect("the fixture's state")).expect("JSON");
    w.run(&["init"]).success();
    w.run(&["state", "import-tfstate", "terraform.tfstate"]).success();
    w.run_with_env(&["plan", "-detailed-exitcode"], &env)
        .code(0)
        .contains("No changes.")
        .lacks("Objects have changed outside of terrane");

    // Refreshed by terrane, every object reads back as Terraform wrote it.
    w.run_with_env(&["apply", "-auto-approve"], &env).success().contains("0 added, 0 changed, 0 destroyed");
    assert_state_has_terraforms_shapes(&w);
    let pulled: serde_json::Value = serde_json::from_str(&w.run(&["state", "pull"]).success().stdout).expect("state pull is JSON");
    let instances = |state: &serde_json::Value| -> std::collections::BTreeMap<String, serde_json::Value> {
        let resources = state["resources"].as_array().cloned().unwrap_or_default();
        resources
            .iter()
            .filter(|r| r["mode"] == "managed")
            .map(|r| (format!("{}.{}", r["type"].as_str().unwrap_or_default(), r["name"].as_str().unwrap_or_default()), r["instances"][0]["attributes"].clone()))
            .collect()
    };
    let (theirs, ours) = (instances(&terraform), instances(&pulled));
    assert_eq!(theirs.keys().collect::<Vec<_>>(), ours.keys().collect::<Vec<_>>());
    let mut differences = Vec::new();
    for (address, attributes) in &theirs {
        let type_name = address.split('.').next().unwrap_or_default();
        for (name, value) in attributes.as_object().into_iter().flatten() {
            let read = &ours[address][name];
            if read != value && !REFRESHED_BY_ANY_READ.contains(&(type_name, name.as_str())) {
                differences.push(format!("{address}.{name}: Terraform wrote {value}, terrane read {read}"));
            }
        }
    }
    assert!(differences.is_empty(), "terrane reads Terraform's objects differently:\n{}", differences.join("\n"));

    // And terrane takes down what Terraform made.
    w.run_with_env(&["destroy", "-auto-approve"], &env).success().contains("57 destroyed");
    let aws = AwsCheck::at(&endpoint, "eu-west-1");
    assert!(aws.vpc_ids().is_empty());
    assert!(aws.live_instances().is_empty());
    assert!(aws.bucket_names().is_empty());
}

fn iam_and_tables_stage(stage: u8) -> String {
    let role = if stage >= 3 { "app-v2" } else { "app" };
    let description = if stage >= 2 { "two" } else { "one" };
    let team = if stage >= 2 { "b" } else { "a" };
    let session = if stage >= 2 { 7200 } else { 3600 };
    let action = if stage >= 2 { "s3:ListBucket" } else { "s3:GetObject" };
    let policy_description = if stage >= 3 { "reads the buckets" } else { "reads" };
    let profile_role = if stage >= 2 { "aws_iam_role.other.name" } else { "aws_iam_role.app.name" };
    let capacity = if stage >= 2 { 2 } else { 1 };
    let ttl = if stage >= 2 { "\n  ttl {\n    attribute_name = \"ExpiresAt\"\n    enabled        = true\n  }\n  point_in_time_recovery {\n    enabled = true\n  }" } else { "" };
    let range = if stage >= 3 { "\n  range_key      = \"At\"\n  attribute {\n    name = \"At\"\n    type = \"N\"\n  }" } else { "" };
    format!(
        r#"{PROVIDER}
data "aws_iam_policy_document" "assume" {{
  statement {{
    actions = ["sts:AssumeRole"]
    principals {{
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }}
  }}
}}

resource "aws_iam_role" "app" {{
  name                 = "{role}"
  description          = "{description}"
  max_session_duration = {session}
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  tags                 = {{ Team = "{team}" }}
}}

resource "aws_iam_role" "other" {{
  name               = "other"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}}

resource "aws_iam_policy" "read" {{
  name        = "read"
  description = "{policy_description}"
  policy      = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "{action}", Resource = "*" }}] }})
}}

resource "aws_iam_role_policy_attachment" "read" {{
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.read.arn
}}

resource "aws_iam_role_policy" "inline" {{
  name   = "inline"
  role   = aws_iam_role.app.id
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "{action}", Resource = "*" }}] }})
}}

resource "aws_iam_instance_profile" "app" {{
  name = "app"
  role = {profile_role}
}}

resource "aws_dynamodb_table" "locks" {{
  name         = "locks"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "LockID"
  attribute {{
    name = "LockID"
    type = "S"
  }}
}}

resource "aws_dynamodb_table" "events" {{
  name           = "events"
  read_capacity  = {capacity}
  write_capacity = {capacity}
  hash_key       = "Stream"{range}
  attribute {{
    name = "Stream"
    type = "S"
  }}{ttl}
  tags = {{ Team = "{team}" }}
}}
"#
    )
}

#[test]
fn iam_and_dynamodb_types_live_their_whole_lifecycle() {
    const REGION: &str = "me-south-1";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    let role_description = |name: &str| {
        let out = aws.block_on(aws.iam.get_role().role_name(name).send()).expect("get the role");
        out.role().and_then(|r| r.description()).map(str::to_string)
    };
    let table = |name: &str| aws.block_on(aws.dynamodb.describe_table().table_name(name).send()).expect("describe the table");

    w.write("main.tf", &iam_and_tables_stage(1));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("Resources: 8 added");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
    assert_eq!(role_description("app").as_deref(), Some("one"));
    assert_state_has_terraforms_shapes(&w);
    let tagged = aws.block_on(aws.iam.list_role_tags().role_name("app").send()).expect("list the role's tags");
    assert!(tagged.tags().iter().all(|t| !t.key().starts_with("terrane:")), "no create token stays on the role");
    for name in ["locks", "events"] {
        let arn = table(name).table().and_then(|t| t.table_arn()).expect("the table's ARN").to_string();
        let tags = aws.block_on(aws.dynamodb.list_tags_of_resource().resource_arn(arn).send()).expect("list the table's tags");
        assert!(tags.tags().iter().all(|t| !t.key().starts_with("terrane:")), "no create token stays on table {name}");
    }

    // In place: descriptions, documents, capacity, TTL, recovery, tags, a profile's role.
    w.write("main.tf", &iam_and_tables_stage(2));
    let plan = w.run_aws(REGION, &["plan", "-detailed-exitcode"]);
    plan.code(2).contains("Plan: 0 to add, 5 to change, 0 to destroy.");
    for address in ["aws_iam_role.app", "aws_iam_policy.read", "aws_iam_role_policy.inline", "aws_iam_instance_profile.app", "aws_dynamodb_table.events"] {
        plan.contains(&format!("# {address} will be updated in-place"));
    }
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("0 added, 5 changed, 0 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    assert_eq!(role_description("app").as_deref(), Some("two"));
    let profile = aws.block_on(aws.iam.get_instance_profile().instance_profile_name("app").send()).expect("get the profile");
    assert_eq!(profile.instance_profile().map(|p| p.roles()[0].role_name()), Some("other"));
    let events = table("events");
    let capacity = events.table().and_then(|t| t.provisioned_throughput()).and_then(|c| c.read_capacity_units());
    assert_eq!(capacity, Some(2));
    let ttl = aws.block_on(aws.dynamodb.describe_time_to_live().table_name("events").send()).expect("describe TTL");
    assert_eq!(ttl.time_to_live_description().and_then(|t| t.attribute_name()), Some("ExpiresAt"));

    // Replacements: a role's name, a policy's description, a table's keys.
    w.write("main.tf", &iam_and_tables_stage(3));
    let plan = w.run_aws(REGION, &["plan", "-detailed-exitcode"]);
    plan.code(2);
    for address in ["aws_iam_role.app", "aws_iam_policy.read", "aws_iam_role_policy_attachment.read", "aws_iam_role_policy.inline", "aws_dynamodb_table.events"] {
        plan.contains(&format!("# {address} must be replaced"));
    }
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    let roles = aws.block_on(aws.iam.list_roles().send()).expect("list roles");
    let mut names: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).collect();
    names.sort();
    assert_eq!(names, ["app-v2", "other"]);
    let keys = table("events").table().map(|t| t.key_schema().len());
    assert_eq!(keys, Some(2));

    // Changes made outside terrane are found and undone.
    aws.block_on(aws.iam.update_role().role_name("app-v2").description("by hand").send()).expect("edit the role");
    aws.block_on(aws.iam.delete_role_policy().role_name("app-v2").policy_name("inline").send()).expect("delete the inline policy");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_iam_role.app will be updated in-place")
        .contains("\"by hand\" -> \"two\"")
        .contains("# aws_iam_role_policy.inline will be created");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("1 added, 1 changed, 0 destroyed");
    assert_eq!(role_description("app-v2").as_deref(), Some("two"));

    reimport_every_object(&w, &terrane_tests::aws_endpoint(), REGION);
    assert_state_has_terraforms_shapes(&w);

    w.run_aws(REGION, &["destroy", "-auto-approve"]).success().contains("8 destroyed");
    assert!(aws.block_on(aws.iam.list_roles().send()).expect("list roles").roles().is_empty());
    assert!(aws.block_on(aws.iam.list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).send()).expect("list policies").policies().is_empty());
    assert!(aws.block_on(aws.iam.list_instance_profiles().send()).expect("list profiles").instance_profiles().is_empty());
    assert!(aws.block_on(aws.dynamodb.list_tables().send()).expect("list tables").table_names().is_empty());
}

fn volumes_and_addresses_stage(stage: u8) -> String {
    let size = if stage >= 2 { 20 } else { 10 };
    let kind = if stage >= 2 { "gp3" } else { "gp2" };
    let tag = if stage >= 2 { "two" } else { "one" };
    let prefix = if stage >= 2 { "site/" } else { "logs/" };
    let device = if stage >= 3 { "/dev/sdg" } else { "/dev/sdh" };
    let reassociate = stage >= 3;
    let max_age = if stage >= 2 { 600 } else { 300 };
    format!(
        r#"{PROVIDER}
data "aws_availability_zones" "all" {{}}

resource "aws_vpc" "main" {{
  cidr_block = "10.70.0.0/16"
}}

resource "aws_subnet" "app" {{
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.70.1.0/24"
  availability_zone = data.aws_availability_zones.all.names[0]
}}

resource "aws_instance" "app" {{
  ami           = "ami-12c6146b"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.app.id
}}

resource "aws_egress_only_internet_gateway" "out" {{
  vpc_id = aws_vpc.main.id
  tags   = {{ Name = "{tag}" }}
}}

resource "aws_eip" "nat" {{
  domain = "vpc"
}}

resource "aws_nat_gateway" "out" {{
  subnet_id     = aws_subnet.app.id
  allocation_id = aws_eip.nat.id
  tags          = {{ Name = "{tag}" }}
}}

resource "aws_s3_bucket_cors_configuration" "site" {{
  bucket = aws_s3_bucket.site.id
  cors_rule {{
    allowed_methods = ["GET"]
    allowed_origins = ["https://example.com"]
    max_age_seconds = {max_age}
  }}
}}

resource "aws_ebs_volume" "data" {{
  availability_zone = aws_subnet.app.availability_zone
  size              = {size}
  type              = "{kind}"
  tags              = {{ Name = "{tag}" }}
}}

resource "aws_volume_attachment" "data" {{
  device_name = "{device}"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.app.id
}}

resource "aws_eip" "ip" {{
  domain = "vpc"
}}

resource "aws_eip_association" "ip" {{
  allocation_id       = aws_eip.ip.id
  instance_id         = aws_instance.app.id
  allow_reassociation = {reassociate}
}}

resource "aws_s3_bucket" "site" {{
  bucket = "terrane-test-logging-site"
}}

# S3 writes its access logs here, so destroy empties it first.
resource "aws_s3_bucket" "logs" {{
  bucket        = "terrane-test-logging-logs"
  force_destroy = true
}}

resource "aws_s3_bucket_acl" "logs" {{
  bucket = aws_s3_bucket.logs.id
  acl    = "log-delivery-write"
}}

resource "aws_s3_bucket_logging" "site" {{
  depends_on    = [aws_s3_bucket_acl.logs]
  bucket        = aws_s3_bucket.site.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "{prefix}"
}}
"#
    )
}

#[test]
fn volumes_addresses_gateways_and_bucket_settings_live_their_whole_lifecycle() {
    const REGION: &str = "eu-west-2";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    let volume = || {
        let out = aws.block_on(aws.ec2.describe_volumes().send()).expect("describe volumes");
        out.volumes().iter().find(|v| v.tags().iter().any(|t| t.key() == Some("Name"))).cloned().expect("the managed volume")
    };
    let logging_prefix = || {
        let out = aws.block_on(aws.s3.get_bucket_logging().bucket("terrane-test-logging-site").send()).expect("get logging");
        out.logging_enabled().map(|l| l.target_prefix().to_string())
    };

    w.write("main.tf", &volumes_and_addresses_stage(1));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("Resources: 15 added");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
    assert_state_has_terraforms_shapes(&w);
    assert_eq!(volume().attachments().first().and_then(|a| a.device()), Some("/dev/sdh"));
    assert_eq!(logging_prefix().as_deref(), Some("logs/"));
    assert_eq!(aws.token_tagged(), Vec::<String>::new(), "no create token stays on any object");

    w.write("main.tf", &volumes_and_addresses_stage(2));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_ebs_volume.data will be updated in-place")
        .contains("# aws_s3_bucket_logging.site will be updated in-place")
        .contains("# aws_egress_only_internet_gateway.out will be updated in-place")
        .contains("# aws_s3_bucket_cors_configuration.site will be updated in-place")
        .contains("# aws_nat_gateway.out will be updated in-place")
        .contains("Plan: 0 to add, 5 to change, 0 to destroy.");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("0 added, 5 changed, 0 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    let resized = volume();
    assert_eq!((resized.size(), resized.volume_type().map(|t| t.as_str().to_string())), (Some(20), Some("gp3".to_string())));
    assert_eq!(logging_prefix().as_deref(), Some("site/"));
    let cors = aws.block_on(aws.s3.get_bucket_cors().bucket("terrane-test-logging-site").send()).expect("get CORS");
    assert_eq!(cors.cors_rules().first().and_then(|r| r.max_age_seconds()), Some(600));
    let gateways = aws.block_on(aws.ec2.describe_egress_only_internet_gateways().send()).expect("describe egress-only gateways");
    let gateway = &gateways.egress_only_internet_gateways()[0];
    assert!(gateway.tags().iter().any(|t| t.key() == Some("Name") && t.value() == Some("two")));

    w.write("main.tf", &volumes_and_addresses_stage(3));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_volume_attachment.data must be replaced")
        .contains("# aws_eip_association.ip must be replaced");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("2 added, 0 changed, 2 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    assert_eq!(volume().attachments().first().and_then(|a| a.device()), Some("/dev/sdg"));

    // A volume detached and an address disassociated by hand are put back.
    let instance = aws.live_instances().remove(0);
    let volume_id = volume().volume_id().expect("a volume id").to_string();
    aws.block_on(aws.ec2.detach_volume().volume_id(&volume_id).instance_id(&instance).send()).expect("detach by hand");
    let addresses = aws.block_on(aws.ec2.describe_addresses().send()).expect("describe addresses");
    let address = addresses.addresses().iter().find(|a| a.instance_id() == Some(instance.as_str())).expect("the instance's address");
    let association = address.association_id().expect("associated").to_string();
    aws.block_on(aws.ec2.disassociate_address().association_id(association).send()).expect("disassociate by hand");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_volume_attachment.data will be created")
        .contains("# aws_eip_association.ip will be created");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("2 added, 0 changed, 0 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);

    reimport_every_object(&w, &terrane_tests::aws_endpoint(), REGION);

    w.run_aws(REGION, &["destroy", "-auto-approve"]).success().contains("15 destroyed");
    assert!(aws.vpc_ids().is_empty());
    assert!(aws.live_instances().is_empty());
    let volumes = aws.block_on(aws.ec2.describe_volumes().send()).expect("describe volumes");
    assert!(volumes.volumes().iter().all(|v| v.tags().is_empty()), "only the instances' own root volumes may linger");
    assert!(aws.block_on(aws.ec2.describe_addresses().send()).expect("describe addresses").addresses().is_empty());
    assert!(aws.bucket_names().iter().all(|b| !b.starts_with("terrane-test-logging")));
    let nat = aws.block_on(aws.ec2.describe_nat_gateways().send()).expect("describe NAT gateways");
    assert!(nat.nat_gateways().iter().all(|g| g.state().is_some_and(|s| matches!(s.as_str(), "deleted" | "deleting"))));
    let gateways = aws.block_on(aws.ec2.describe_egress_only_internet_gateways().send()).expect("describe egress-only gateways");
    assert!(gateways.egress_only_internet_gateways().iter().all(|g| g.attachments().iter().all(|a| a.state().is_some_and(|s| s.as_str() == "detached"))));
}

#[test]
fn the_provider_assumes_the_role_it_is_given() {
    const REGION: &str = "ap-south-2";
    let w = Workdir::new();
    w.write(
        "main.tf",
        &format!(
            r#"{PROVIDER}
provider "aws" {{
  assume_role {{
    role_arn     = "arn:aws:iam::123456789012:role/deployer"
    session_name = "pipeline"
    duration     = "1h"
  }}
}}

data "aws_caller_identity" "current" {{}}

output "who" {{
  value = data.aws_caller_identity.current.arn
}}
"#
        ),
    );
    w.run_aws(REGION, &["apply", "-auto-approve"]).success();
    let who = w.run_aws(REGION, &["output", "-raw", "who"]).success().stdout.clone();
    assert_eq!(who, "arn:aws:sts::123456789012:assumed-role/deployer/pipeline", "calls are made as the assumed role");

    w.write("main.tf", &w.read("main.tf").unwrap_or_default().replace("\"1h\"", "\"an hour\""));
    w.run_aws(REGION, &["plan"]).code(1).contains("assume_role duration \"an hour\" is not a duration");
}

fn defaults_and_network_stage(region: &str, stage: u8) -> String {
    let tag = if stage >= 2 { "two" } else { "one" };
    let egress_cidr = if stage >= 2 { "10.0.0.0/8" } else { "0.0.0.0/0" };
    let main_table = if stage >= 2 { "two" } else { "one" };
    let https = if stage >= 2 { 8443 } else { 443 };
    let ssh = if stage >= 3 { 2222 } else { 22 };
    // Stage 4 moves what can only move by being made again.
    let (moved, service) = if stage >= 4 { ("peer", "dynamodb") } else { ("main", "s3") };
    let (from, to) = if stage >= 4 { ("peer", "main") } else { ("main", "peer") };
    // Left out, the policy is AWS's full-access one.
    let endpoint_policy = if stage >= 2 {
        r#"
  policy          = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "*" }] })"#
    } else {
        ""
    };
    format!(
        r#"{PROVIDER}
resource "aws_default_vpc" "default" {{
  tags = {{ Name = "default-{tag}" }}
}}

resource "aws_vpc" "main" {{
  cidr_block = "10.80.0.0/16"
}}

resource "aws_vpc" "peer" {{
  cidr_block = "10.81.0.0/16"
}}

resource "aws_subnet" "app" {{
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.80.1.0/24"
}}

resource "aws_default_security_group" "main" {{
  vpc_id = aws_vpc.{moved}.id
  ingress {{
    protocol  = -1
    self      = true
    from_port = 0
    to_port   = 0
  }}
  egress {{
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["{egress_cidr}"]
  }}
}}

resource "aws_default_route_table" "main" {{
  default_route_table_id = aws_vpc.main.default_route_table_id
  tags                   = {{ Name = "{tag}" }}
}}

resource "aws_route_table" "one" {{
  vpc_id = aws_vpc.main.id
}}

resource "aws_route_table" "two" {{
  vpc_id = aws_vpc.main.id
}}

# On the peer VPC: the main table is what aws_vpc reads as its default
# table, which aws_default_route_table names (as in Terraform).
resource "aws_route_table" "peer_one" {{
  vpc_id = aws_vpc.peer.id
}}

resource "aws_route_table" "peer_two" {{
  vpc_id = aws_vpc.peer.id
}}

resource "aws_main_route_table_association" "main" {{
  vpc_id         = aws_vpc.peer.id
  route_table_id = aws_route_table.peer_{main_table}.id
}}

resource "aws_network_acl" "app" {{
  vpc_id     = aws_vpc.main.id
  subnet_ids = [aws_subnet.app.id]
  tags       = {{ Name = "{tag}" }}
  ingress {{
    protocol   = "tcp"
    rule_no    = 100
    action     = "allow"
    cidr_block = "10.0.0.0/8"
    from_port  = {https}
    to_port    = {https}
  }}
  egress {{
    protocol   = "-1"
    rule_no    = 100
    action     = "allow"
    cidr_block = "0.0.0.0/0"
    from_port  = 0
    to_port    = 0
  }}
}}

resource "aws_network_acl" "extra" {{
  vpc_id = aws_vpc.{moved}.id
}}

resource "aws_network_acl_rule" "ssh" {{
  network_acl_id = aws_network_acl.extra.id
  rule_number    = 200
  protocol       = "tcp"
  rule_action    = "allow"
  cidr_block     = "10.0.0.0/8"
  from_port      = {ssh}
  to_port        = {ssh}
}}

resource "aws_vpc_endpoint" "s3" {{
  vpc_id          = aws_vpc.main.id
  service_name    = "com.amazonaws.{region}.{service}"
  route_table_ids = [aws_route_table.one.id]{endpoint_policy}
}}

resource "aws_vpc_peering_connection" "peer" {{
  vpc_id      = aws_vpc.{from}.id
  peer_vpc_id = aws_vpc.{to}.id
  auto_accept = true
  tags        = {{ Name = "{tag}" }}
}}

data "aws_route_table" "main" {{
  route_table_id = aws_main_route_table_association.main.route_table_id
}}

output "main_table_is_main" {{
  value = [for a in data.aws_route_table.main.associations : a.main]
}}
"#
    )
}

#[test]
fn default_objects_acls_endpoints_and_peerings_live_their_whole_lifecycle() {
    const REGION: &str = "eu-central-2";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    let default_vpc = || {
        let filter = aws_sdk_ec2::types::Filter::builder().name("is-default").values("true").build();
        let out = aws.block_on(aws.ec2.describe_vpcs().filters(filter).send()).expect("describe VPCs");
        out.vpcs().first().and_then(|v| v.vpc_id()).expect("the default VPC").to_string()
    };
    let acl_rule_ports = || {
        let out = aws.block_on(aws.ec2.describe_network_acls().send()).expect("describe ACLs");
        let rules: Vec<i32> = out
            .network_acls()
            .iter()
            .flat_map(|a| a.entries())
            .filter(|e| e.rule_number() == Some(200))
            .filter_map(|e| e.port_range().and_then(|p| p.from()))
            .collect();
        rules
    };

    w.write("main.tf", &defaults_and_network_stage(REGION, 1));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("Resources: 16 added");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
    assert_state_has_terraforms_shapes(&w);
    assert_eq!(aws.token_tagged(), Vec::<String>::new(), "no create token stays on any object");
    assert_eq!(aws.name_tag(&default_vpc()).as_deref(), Some("default-one"), "the default VPC is adopted, not made");
    assert_eq!(w.run_aws(REGION, &["output", "-json", "main_table_is_main"]).success().stdout.trim(), "[true]");
    assert_eq!(acl_rule_ports(), vec![22]);
    let peering = aws.block_on(aws.ec2.describe_vpc_peering_connections().send()).expect("describe peerings");
    let status = peering.vpc_peering_connections().first().and_then(|p| p.status()).and_then(|s| s.code()).map(|c| c.as_str().to_string());
    assert_eq!(status.as_deref(), Some("active"), "auto_accept accepts the peering");

    w.write("main.tf", &defaults_and_network_stage(REGION, 2));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_default_vpc.default will be updated in-place")
        .contains("# aws_default_security_group.main will be updated in-place")
        .contains("# aws_default_route_table.main will be updated in-place")
        .contains("# aws_main_route_table_association.main will be updated in-place")
        .contains("# aws_network_acl.app will be updated in-place")
        .contains("# aws_vpc_endpoint.s3 will be updated in-place")
        .contains("# aws_vpc_peering_connection.peer will be updated in-place")
        .contains("Plan: 0 to add, 7 to change, 0 to destroy.");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("0 added, 7 changed, 0 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    let endpoints = aws.block_on(aws.ec2.describe_vpc_endpoints().send()).expect("describe endpoints");
    assert!(endpoints.vpc_endpoints()[0].policy_document().is_some_and(|p| p.contains("s3:GetObject")), "the endpoint has the new policy");
    let out = aws.block_on(aws.ec2.describe_network_acls().send()).expect("describe ACLs");
    let https: Vec<i32> = out.network_acls().iter().flat_map(|a| a.entries()).filter(|e| e.rule_number() == Some(100) && e.egress() == Some(false)).filter_map(|e| e.port_range().and_then(|p| p.from())).collect();
    assert_eq!(https, vec![8443]);

    w.write("main.tf", &defaults_and_network_stage(REGION, 3));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(2).contains("# aws_network_acl_rule.ssh must be replaced");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("1 added, 0 changed, 1 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    assert_eq!(acl_rule_ports(), vec![2222]);

    // A rule deleted by hand is made again; a default group's rule taken
    // away by hand is put back.
    let acls = aws.block_on(aws.ec2.describe_network_acls().send()).expect("describe ACLs");
    let extra = acls.network_acls().iter().find(|a| a.entries().iter().any(|e| e.rule_number() == Some(200))).and_then(|a| a.network_acl_id()).expect("the extra ACL");
    aws.block_on(aws.ec2.delete_network_acl_entry().network_acl_id(extra).rule_number(200).egress(false).send()).expect("delete the rule by hand");
    let group = aws.block_on(aws.ec2.describe_security_groups().filters(aws_sdk_ec2::types::Filter::builder().name("group-name").values("default").build()).send()).expect("describe groups");
    let main_vpc = aws.vpc_ids().into_iter().find(|v| group.security_groups().iter().any(|g| g.vpc_id() == Some(v.as_str()) && !g.ip_permissions().is_empty())).expect("the main VPC");
    let default_group = group.security_groups().iter().find(|g| g.vpc_id() == Some(main_vpc.as_str())).expect("its default group");
    let permissions = default_group.ip_permissions().to_vec();
    aws.block_on(aws.ec2.revoke_security_group_ingress().group_id(default_group.group_id().unwrap_or_default()).set_ip_permissions(Some(permissions)).send()).expect("revoke by hand");
    // So are the default VPC's name, an inline ACL rule, an endpoint's
    // policy and a peering's name, changed by hand.
    aws.set_name_tag(&default_vpc(), "by hand");
    let app_acl = acls.network_acls().iter().filter(|a| a.is_default() != Some(true)).find(|a| a.entries().iter().any(|e| e.rule_number() == Some(100) && e.egress() == Some(false))).and_then(|a| a.network_acl_id()).expect("the app ACL");
    aws.block_on(aws.ec2.delete_network_acl_entry().network_acl_id(app_acl).rule_number(100).egress(false).send()).expect("delete an inline rule by hand");
    let endpoint = aws.block_on(aws.ec2.describe_vpc_endpoints().send()).expect("describe endpoints").vpc_endpoints()[0].vpc_endpoint_id().expect("an endpoint id").to_string();
    let open = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
    aws.block_on(aws.ec2.modify_vpc_endpoint().vpc_endpoint_id(&endpoint).policy_document(open).send()).expect("open the policy by hand");
    let peering = aws.block_on(aws.ec2.describe_vpc_peering_connections().send()).expect("describe peerings");
    aws.set_name_tag(peering.vpc_peering_connections()[0].vpc_peering_connection_id().expect("a peering id"), "by hand");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_network_acl_rule.ssh will be created")
        .contains("# aws_default_security_group.main will be updated in-place")
        .contains("# aws_default_vpc.default will be updated in-place")
        .contains("# aws_network_acl.app will be updated in-place")
        .contains("# aws_vpc_endpoint.s3 will be updated in-place")
        .contains("# aws_vpc_peering_connection.peer will be updated in-place");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("1 added, 5 changed, 0 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    assert_eq!(aws.name_tag(&default_vpc()).as_deref(), Some("default-two"));

    w.write("main.tf", &defaults_and_network_stage(REGION, 4));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_default_security_group.main must be replaced")
        .contains("# aws_network_acl.extra must be replaced")
        .contains("# aws_network_acl_rule.ssh must be replaced")
        .contains("# aws_vpc_endpoint.s3 must be replaced")
        .contains("# aws_vpc_peering_connection.peer must be replaced");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("5 added, 0 changed, 5 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    let endpoints = aws.block_on(aws.ec2.describe_vpc_endpoints().send()).expect("describe endpoints");
    let live: Vec<&str> = endpoints.vpc_endpoints().iter().filter(|e| e.state().is_some_and(|s| s.as_str() != "deleted")).filter_map(|e| e.service_name()).collect();
    assert_eq!(live, [format!("com.amazonaws.{REGION}.dynamodb")]);

    reimport_every_object(&w, &terrane_tests::aws_endpoint(), REGION);

    w.run_aws(REGION, &["destroy", "-auto-approve"]).success().contains("16 destroyed");
    assert!(aws.vpc_ids().is_empty(), "only the default VPC is left");
    assert_eq!(aws.name_tag(&default_vpc()).as_deref(), Some("default-two"), "the default VPC is forgotten, not deleted");
    let peerings = aws.block_on(aws.ec2.describe_vpc_peering_connections().send()).expect("describe peerings");
    assert!(peerings.vpc_peering_connections().iter().all(|p| p.status().and_then(|s| s.code()).is_some_and(|c| c.as_str() == "deleted")));
    let endpoints = aws.block_on(aws.ec2.describe_vpc_endpoints().send()).expect("describe endpoints");
    assert!(endpoints.vpc_endpoints().iter().all(|e| e.state().is_some_and(|s| s.as_str() == "deleted")));
}

fn interfaces_and_templates_stage(region: &str, stage: u8) -> String {
    let description = if stage >= 2 { "app, two addresses" } else { "app" };
    let ips = if stage >= 2 { r#"["10.90.1.50", "10.90.1.51"]"# } else { r#"["10.90.1.50"]"# };
    let root_size = if stage >= 2 { 12 } else { 10 };
    let template_type = if stage >= 2 { "t3.small" } else { "t3.micro" };
    let prefix = if stage >= 2 { "incoming/" } else { "in/" };
    let device_index = if stage >= 3 { 2 } else { 1 };
    // Stage 4 changes what can only change by being made again.
    let (template_name, spare_subnet, extra_size) = if stage >= 4 { ("app-v2", "other", 6) } else { ("app", "app", 5) };
    format!(
        r#"{PROVIDER}
data "aws_availability_zones" "all" {{}}

resource "aws_vpc" "main" {{
  cidr_block = "10.90.0.0/16"
}}

resource "aws_subnet" "app" {{
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.90.1.0/24"
  availability_zone = data.aws_availability_zones.all.names[0]
}}

resource "aws_subnet" "other" {{
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.90.2.0/24"
  availability_zone = data.aws_availability_zones.all.names[0]
}}

resource "aws_security_group" "app" {{
  name   = "app"
  vpc_id = aws_vpc.main.id
}}

resource "aws_network_interface" "app" {{
  subnet_id       = aws_subnet.app.id
  private_ips     = {ips}
  security_groups = [aws_security_group.app.id]
  description     = "{description}"
  tags            = {{ Name = "app" }}
}}

resource "aws_network_interface" "spare" {{
  subnet_id = aws_subnet.{spare_subnet}.id
}}

resource "aws_instance" "app" {{
  ami           = "ami-12c6146b"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.app.id
  tags          = {{ Role = "app" }}
  root_block_device {{
    volume_size = {root_size}
    volume_type = "gp3"
  }}
  ebs_block_device {{
    device_name = "/dev/sdf"
    volume_size = {extra_size}
  }}
  credit_specification {{
    cpu_credits = "standard"
  }}
}}

resource "aws_network_interface_attachment" "spare" {{
  instance_id          = aws_instance.app.id
  network_interface_id = aws_network_interface.spare.id
  device_index         = {device_index}
}}

resource "aws_launch_template" "app" {{
  name                   = "{template_name}"
  image_id               = "ami-12c6146b"
  instance_type          = "{template_type}"
  vpc_security_group_ids = [aws_security_group.app.id]
  tags                   = {{ Name = "app" }}
  block_device_mappings {{
    device_name = "/dev/sdb"
    ebs {{
      volume_size = 20
    }}
  }}
  metadata_options {{
    http_tokens = "required"
  }}
  tag_specifications {{
    resource_type = "instance"
    tags          = {{ Name = "from-template" }}
  }}
}}

resource "aws_s3_bucket" "events" {{
  bucket = "terrane-test-notifications"
}}

resource "aws_s3_bucket_notification" "events" {{
  bucket = aws_s3_bucket.events.id
  queue {{
    queue_arn     = "arn:aws:sqs:{region}:123456789012:events"
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "{prefix}"
  }}
}}

resource "aws_iam_policy" "read" {{
  name   = "read-events"
  policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }}] }})
}}

data "aws_iam_policy" "read" {{
  name = aws_iam_policy.read.name
}}

data "aws_instance" "app" {{
  instance_id = aws_instance.app.id
}}

data "aws_instances" "apps" {{
  instance_tags = {{ Role = aws_instance.app.tags["Role"] }}
}}

output "root_size" {{
  value = one(data.aws_instance.app.root_block_device).volume_size
}}

output "app_ids" {{
  value = data.aws_instances.apps.ids
}}

output "policy_arn_matches" {{
  value = data.aws_iam_policy.read.arn == aws_iam_policy.read.arn
}}
"#
    )
}

#[test]
fn interfaces_templates_notifications_and_instance_blocks_live_their_whole_lifecycle() {
    const REGION: &str = "eu-south-2";
    let aws = AwsCheck::new(REGION);
    // moto answers some launch template and instance calls with XML the
    // SDK refuses; the relay mends it.
    let moto = terrane_tests::faults::FaultyEndpoint::mending(&terrane_tests::aws_endpoint());
    let w = Workdir::new();
    let app_interface = || {
        let filter = aws_sdk_ec2::types::Filter::builder().name("tag:Name").values("app").build();
        let out = aws.block_on(aws.ec2.describe_network_interfaces().filters(filter).send()).expect("describe interfaces");
        out.network_interfaces().first().cloned().expect("the app interface")
    };
    let root_volume_size = || {
        let instance = aws.live_instances().remove(0);
        let filter = aws_sdk_ec2::types::Filter::builder().name("attachment.instance-id").values(instance).build();
        let out = aws.block_on(aws.ec2.describe_volumes().filters(filter).send()).expect("describe volumes");
        let mut sizes: Vec<i32> = out.volumes().iter().filter_map(|v| v.size()).collect();
        sizes.sort();
        sizes
    };

    w.write("main.tf", &interfaces_and_templates_stage(REGION, 1));
    w.run_aws_at(&moto.url, REGION, &["apply", "-auto-approve"]).success().contains("Resources: 12 added");
    w.run_aws_at(&moto.url, REGION, &["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
    assert_state_has_terraforms_shapes(&w);
    assert_eq!(aws.token_tagged(), Vec::<String>::new(), "no create token stays on any object");
    assert_eq!(root_volume_size(), vec![5, 10], "the root and the extra EBS device, as configured");
    assert_eq!(w.run_aws_at(&moto.url, REGION, &["output", "root_size"]).success().stdout.trim(), "10");
    let ids = w.run_aws_at(&moto.url, REGION, &["output", "-json", "app_ids"]).success().stdout.clone();
    assert_eq!(serde_json::from_str::<Vec<String>>(&ids).expect("a list of ids"), aws.live_instances());
    assert_eq!(w.run_aws_at(&moto.url, REGION, &["output", "policy_arn_matches"]).success().stdout.trim(), "true");
    let spare = aws.block_on(aws.ec2.describe_network_interfaces().send()).expect("describe interfaces");
    let attached: Vec<i32> = spare.network_interfaces().iter().filter_map(|n| n.attachment()).filter_map(|a| a.device_index()).filter(|i| *i > 0).collect();
    assert_eq!(attached, vec![1]);

    w.write("main.tf", &interfaces_and_templates_stage(REGION, 2));
    w.run_aws_at(&moto.url, REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_network_interface.app will be updated in-place")
        .contains("# aws_instance.app will be updated in-place")
        .contains("# aws_launch_template.app will be updated in-place")
        .contains("# aws_s3_bucket_notification.events will be updated in-place")
        .contains("Plan: 0 to add, 4 to change, 0 to destroy.");
    w.run_aws_at(&moto.url, REGION, &["apply", "-auto-approve"]).success().contains("0 added, 4 changed, 0 destroyed");
    w.run_aws_at(&moto.url, REGION, &["plan", "-detailed-exitcode"]).code(0);
    let eni = app_interface();
    assert_eq!(eni.description(), Some("app, two addresses"));
    assert_eq!(eni.private_ip_addresses().len(), 2);
    assert_eq!(root_volume_size(), vec![5, 12], "the root volume grows in place");
    let templates = aws.block_on(aws.ec2.describe_launch_templates().send()).expect("describe templates");
    assert_eq!(templates.launch_templates()[0].latest_version_number(), Some(2), "a change is a new version");
    let notification = aws.block_on(aws.s3.get_bucket_notification_configuration().bucket("terrane-test-notifications").send()).expect("get notifications");
    let rules = notification.queue_configurations()[0].filter().and_then(|f| f.key()).map(|k| k.filter_rules().to_vec()).unwrap_or_default();
    assert_eq!(rules.first().and_then(|r| r.value()), Some("incoming/"));

    w.write("main.tf", &interfaces_and_templates_stage(REGION, 3));
    w.run_aws_at(&moto.url, REGION, &["plan", "-detailed-exitcode"]).code(2).contains("# aws_network_interface_attachment.spare must be replaced");
    w.run_aws_at(&moto.url, REGION, &["apply", "-auto-approve"]).success().contains("1 added, 0 changed, 1 destroyed");
    w.run_aws_at(&moto.url, REGION, &["plan", "-detailed-exitcode"]).code(0);

    // A description changed by hand is put back.
    let id = app_interface().network_interface_id().expect("an id").to_string();
    let by_hand = aws_sdk_ec2::types::AttributeValue::builder().value("changed by hand").build();
    aws.block_on(aws.ec2.modify_network_interface_attribute().network_interface_id(&id).description(by_hand).send()).expect("change by hand");
    // So are a bucket's notifications.
    let queue = aws_sdk_s3::types::QueueConfiguration::builder()
        .queue_arn(format!("arn:aws:sqs:{REGION}:123456789012:elsewhere"))
        .events(aws_sdk_s3::types::Event::from("s3:ObjectRemoved:*"))
        .build()
        .expect("a queue configuration");
    let elsewhere = aws_sdk_s3::types::NotificationConfiguration::builder().queue_configurations(queue).build();
    aws.block_on(aws.s3.put_bucket_notification_configuration().bucket("terrane-test-notifications").notification_configuration(elsewhere).send())
        .expect("send notifications elsewhere by hand");
    w.run_aws_at(&moto.url, REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_network_interface.app will be updated in-place")
        .contains("# aws_s3_bucket_notification.events will be updated in-place");
    w.run_aws_at(&moto.url, REGION, &["apply", "-auto-approve"]).success().contains("0 added, 2 changed, 0 destroyed");
    w.run_aws_at(&moto.url, REGION, &["plan", "-detailed-exitcode"]).code(0);
    assert_eq!(app_interface().description(), Some("app, two addresses"));

    w.write("main.tf", &interfaces_and_templates_stage(REGION, 4));
    w.run_aws_at(&moto.url, REGION, &["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# aws_launch_template.app must be replaced")
        .contains("# aws_network_interface.spare must be replaced")
        .contains("# aws_instance.app must be replaced")
        .contains("# aws_network_interface_attachment.spare must be replaced");
    w.run_aws_at(&moto.url, REGION, &["apply", "-auto-approve"]).success().contains("4 added, 0 changed, 4 destroyed");
    w.run_aws_at(&moto.url, REGION, &["plan", "-detailed-exitcode"]).code(0);
    assert_eq!(root_volume_size(), vec![6, 12], "the new instance has the new EBS device");

    reimport_every_object(&w, &moto.url, REGION);

    w.run_aws_at(&moto.url, REGION, &["destroy", "-auto-approve"]).success().contains("12 destroyed");
    assert!(aws.vpc_ids().is_empty());
    assert!(aws.live_instances().is_empty());
    let templates = aws.block_on(aws.ec2.describe_launch_templates().send()).expect("describe templates");
    assert!(templates.launch_templates().is_empty());
    assert!(aws.bucket_names().iter().all(|b| b != "terrane-test-notifications"));
}

#[test]
fn tags_the_provider_is_told_to_ignore_are_never_read_or_removed() {
    const REGION: &str = "me-central-1";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    w.write(
        "main.tf",
        &format!(
            r#"{PROVIDER}
provider "aws" {{
  ignore_tags {{
    keys         = ["Owner"]
    key_prefixes = ["kubernetes.io/"]
  }}
}}

resource "aws_vpc" "main" {{
  cidr_block = "10.60.0.0/16"
  tags       = {{ Name = "main" }}
}}
"#
        ),
    );
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("1 added");
    let vpc = aws.vpc_ids().remove(0);
    for (key, value) in [("Owner", "team-a"), ("kubernetes.io/cluster/blue", "shared"), ("Cost", "12")] {
        let tag = aws_sdk_ec2::types::Tag::builder().key(key).value(value).build();
        aws.block_on(aws.ec2.create_tags().resources(&vpc).tags(tag).send()).expect("tag by hand");
    }
    // Only the tag nobody said to ignore is drift, and only it is taken off.
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(2).contains("- Cost = \"12\" -> null").lacks("Owner").lacks("kubernetes.io");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("0 added, 1 changed, 0 destroyed");
    let filter = aws_sdk_ec2::types::Filter::builder().name("resource-id").values(&vpc).build();
    let out = aws.block_on(aws.ec2.describe_tags().filters(filter).send()).expect("describe tags");
    let mut keys: Vec<&str> = out.tags().iter().filter_map(|t| t.key()).collect();
    keys.sort();
    assert_eq!(keys, ["Name", "Owner", "kubernetes.io/cluster/blue"]);
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);
    w.run_aws(REGION, &["destroy", "-auto-approve"]).success();
}

#[test]
fn an_instance_launches_on_the_interface_or_with_the_groups_it_names() {
    const REGION: &str = "il-central-1";
    let aws = AwsCheck::new(REGION);
    let w = Workdir::new();
    let stage = |groups: &str| {
        format!(
            r#"{PROVIDER}
resource "aws_vpc" "main" {{
  cidr_block = "10.61.0.0/16"
}}

resource "aws_subnet" "app" {{
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.61.1.0/24"
}}

resource "aws_network_interface" "pinned" {{
  subnet_id   = aws_subnet.app.id
  private_ips = ["10.61.1.20"]
}}

resource "aws_instance" "pinned" {{
  ami           = "ami-12c6146b"
  instance_type = "t3.micro"
  # moto keeps every launch interface's delete-on-termination at true.
  network_interface {{
    network_interface_id  = aws_network_interface.pinned.id
    device_index          = 0
    delete_on_termination = true
  }}
}}

# In the region's default VPC, groups go by name.
resource "aws_instance" "named" {{
  ami             = "ami-12c6146b"
  instance_type   = "t3.micro"
  security_groups = [{groups}]
}}
"#
        )
    };
    w.write("main.tf", &stage(r#""default""#));
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("Resources: 5 added");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
    assert_state_has_terraforms_shapes(&w);
    let out = aws.block_on(aws.ec2.describe_instances().send()).expect("describe instances");
    let instances: Vec<_> = out.reservations().iter().flat_map(|r| r.instances()).filter(|i| i.state().and_then(|s| s.name()).is_some_and(|n| n.as_str() == "running")).collect();
    let pinned = instances.iter().find(|i| i.private_ip_address() == Some("10.61.1.20")).expect("the instance on the given interface");
    assert_eq!(pinned.network_interfaces().len(), 1, "no interface but the given one");
    let named = instances.iter().find(|i| i.private_ip_address() != Some("10.61.1.20")).expect("the instance with named groups");
    assert_eq!(named.security_groups().iter().filter_map(|g| g.group_name()).collect::<Vec<_>>(), ["default"]);

    // Another group by name replaces the instance, as in Terraform.
    let group = aws.block_on(aws.ec2.create_security_group().group_name("web").description("web").send()).expect("make a group by hand");
    assert!(group.group_id().is_some());
    w.write("main.tf", &stage(r#""default", "web""#));
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(2).contains("# aws_instance.named must be replaced");
    w.run_aws(REGION, &["apply", "-auto-approve"]).success().contains("1 added, 0 changed, 1 destroyed");
    w.run_aws(REGION, &["plan", "-detailed-exitcode"]).code(0);

    w.run_aws(REGION, &["destroy", "-auto-approve"]).success().contains("5 destroyed");
    assert!(aws.vpc_ids().is_empty());
    assert!(aws.live_instances().is_empty());
    let web = aws.block_on(aws.ec2.delete_security_group().group_name("web").send());
    assert!(web.is_ok(), "the group made by hand is the test's to remove");
}
