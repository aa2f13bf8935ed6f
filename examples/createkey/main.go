// Command createkey is the README's Go example: it makes user Dave and
// gives him a key, with the root's credentials from the environment or
// the shared-credentials file (AWS_SHARED_CREDENTIALS_FILE), and then
// uses the key at once.
//
//	go run ./examples/createkey
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithBaseEndpoint("http://127.0.0.1:8600"))
	if err != nil {
		log.Fatal(err)
	}
	client := iam.NewFromConfig(cfg)
	if _, err := client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Dave")}); err != nil {
		log.Fatal(err)
	}
	out, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Dave")})
	if err != nil {
		log.Fatal(err)
	}
	k := out.AccessKey // the only time the secret is shown
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*k.AccessKeyId, *k.SecretAccessKey, "")
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*who.Arn)
}
