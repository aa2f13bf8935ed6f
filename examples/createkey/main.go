// Command createkey is the Go example of docs/clients.md: it makes user
// Dave (unless he exists), gives him a key, uses the key at once and
// deletes it, so that it can run again. The root's credentials come from
// the environment or the shared-credentials file
// (AWS_SHARED_CREDENTIALS_FILE), iamd's address from AWS_ENDPOINT_URL, as
// for every AWS SDK.
//
//	AWS_ENDPOINT_URL=http://127.0.0.1:8600 go run ./examples/createkey
package main

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func main() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		log.Fatal(err)
	}
	client := iam.NewFromConfig(cfg)
	_, err = client.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Dave")})
	if exists := new(types.EntityAlreadyExistsException); err != nil && !errors.As(err, &exists) {
		log.Fatal(err)
	}
	out, err := client.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Dave")})
	if err != nil {
		log.Fatal(err)
	}
	k := out.AccessKey // the only time the secret is shown
	defer client.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("Dave"), AccessKeyId: k.AccessKeyId})
	daves := cfg.Copy()
	daves.Credentials = credentials.NewStaticCredentialsProvider(*k.AccessKeyId, *k.SecretAccessKey, "")
	who, err := sts.NewFromConfig(daves).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*who.Arn)
}
