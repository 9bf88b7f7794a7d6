"""moto's server on 127.0.0.1 with signature checking on, for the AWS client tests.

Usage: moto_server.py PORT KEYFILE. The first seven calls (create an IAM user, give it an
allow-all policy, create its access key; create two roles anyone may assume, each with an
allow-all policy, for the assumed-role tests) run unauthenticated; after them moto checks
every request's SigV4 signature against that key or keys STS issued. The key is written to KEYFILE as
"ACCESS_KEY_ID SECRET"; "ready" is printed when the server accepts signed requests.
"""
import json
import os
import sys
import time

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "7"
os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")

import boto3  # noqa: E402  (moto depends on it)
from moto.server import ThreadedMotoServer  # noqa: E402

port = int(sys.argv[1])
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
iam = boto3.client("iam", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="finetuned")
iam.put_user_policy(UserName="finetuned", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="finetuned")["AccessKey"]
trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*", "Federated": "*"},
                                                            "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}]})
for role in ("finetuned-first", "finetuned-second"):
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName=role, PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
with open(sys.argv[2], "w") as f:
    f.write(f"{key['AccessKeyId']} {key['SecretAccessKey']}")
print("ready", flush=True)
while True:
    time.sleep(3600)
