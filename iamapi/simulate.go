package iamapi

import (
	"context"
	"strconv"
	"strings"

	"iamd"
	"iamd/awsquery"
)

type position struct {
	Line   int
	Column int
}

type matchedStatement struct {
	SourcePolicyId   string
	SourcePolicyType string
	StartPosition    position
	EndPosition      position
}

type evaluationResult struct {
	EvalActionName       string
	EvalResourceName     string
	EvalDecision         string
	MatchedStatements    []matchedStatement `xml:"MatchedStatements>member"`
	MissingContextValues []string           `xml:"MissingContextValues>member"`
	// OrganizationsDecisionDetail, when the account's organization's
	// SCPs apply.
	OrganizationsDecisionDetail *struct{ AllowedByOrganizations bool } `xml:",omitempty"`
	// PermissionsBoundaryDecisionDetail, when a boundary applies.
	PermissionsBoundaryDecisionDetail *struct{ AllowedByPermissionsBoundary bool } `xml:",omitempty"`
}

type simulateResult struct {
	EvaluationResults []evaluationResult `xml:"EvaluationResults>member"`
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
}

// maxContextValue bounds a simulation's context values, which the model
// leaves unbounded: as long as the longest resource ARN.
const maxContextValue = 2048

// simulation reads the parameters both simulations share. The ones that
// concern resource policies or other accounts are refused: iamd evaluates
// identity-based policies and permissions boundaries only, and ignoring
// them would answer a question that was not asked.
func (v *validator) simulation() iamd.SimulationInput {
	for _, name := range []string{"ResourcePolicy", "ResourceOwner", "CallerArn", "ResourceHandlingOption"} {
		if _, ok := v.P[name]; ok && v.Err == nil {
			v.Err = iamd.Errorf(iamd.InvalidInput, "%s is not supported: iamd evaluates identity-based policies only.", name)
		}
	}
	// The model's lengths bound the work of one simulation; context values
	// have none there and are held to maxContextValue.
	in := iamd.SimulationInput{
		Actions:   v.members("ActionNames", 3, 128),
		Resources: v.members("ResourceArns", 1, 2048),
		Policies:  v.members("PolicyInputList", 1, 131072),
		// The model allows any number; AWS evaluates one boundary.
		Boundaries: v.members("PermissionsBoundaryPolicyInputList", 1, 131072),
		Context:    map[string][]string{},
	}
	if len(in.Actions) == 0 {
		v.Fail("Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
	}
	for i := 1; ; i++ {
		prefix := "ContextEntries.member." + strconv.Itoa(i)
		if _, ok := v.P[prefix+".ContextKeyName"]; !ok {
			break
		}
		name := v.Str(prefix+".ContextKeyName", true, 5, 256, nil, "")
		in.Context[strings.ToLower(name)] = append(in.Context[strings.ToLower(name)], v.members(prefix+".ContextKeyValues", 0, maxContextValue)...)
	}
	return in
}

func (a *API) simulateResult(results []iamd.SimulationResult, page iamd.Page) (any, error) {
	from := 0
	if page.Marker != "" {
		n, err := strconv.Atoi(page.Marker)
		if err != nil || n < 0 || n > len(results) {
			return nil, iamd.BadMarker()
		}
		from = n
	}
	out := simulateResult{EvaluationResults: []evaluationResult{}}
	end := min(from+page.MaxItems, len(results))
	for _, r := range results[from:end] {
		er := evaluationResult{EvalActionName: r.Action, EvalResourceName: r.Resource, EvalDecision: r.Decision.String(),
			MatchedStatements: []matchedStatement{}, MissingContextValues: r.Missing}
		if er.MissingContextValues == nil {
			er.MissingContextValues = []string{}
		}
		if r.GuardrailAllowed != nil {
			er.OrganizationsDecisionDetail = &struct{ AllowedByOrganizations bool }{*r.GuardrailAllowed}
		}
		if r.BoundaryAllowed != nil {
			er.PermissionsBoundaryDecisionDetail = &struct{ AllowedByPermissionsBoundary bool }{*r.BoundaryAllowed}
		}
		for _, m := range r.Matched {
			er.MatchedStatements = append(er.MatchedStatements, matchedStatement{SourcePolicyId: m.SourcePolicyID, SourcePolicyType: m.SourcePolicyType,
				StartPosition: position(m.Start), EndPosition: position(m.End)})
		}
		out.EvaluationResults = append(out.EvaluationResults, er)
	}
	if end < len(results) {
		out.IsTruncated, out.Marker = true, strconv.Itoa(end)
	}
	return out, nil
}

func (a *API) simulatePrincipalPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	source := v.Str("PolicySourceArn", true, 20, 2048, nil, "")
	in := v.simulation()
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	results, err := a.svc.SimulatePrincipalPolicy(ctx, c, source, in)
	if err != nil {
		return nil, err
	}
	return a.simulateResult(results, page)
}

func (a *API) simulateCustomPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	in := v.simulation()
	if len(in.Policies) == 0 {
		v.Fail("Value null at 'policyInputList' failed to satisfy constraint: Member must not be null")
	}
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	results, err := a.svc.SimulateCustomPolicy(ctx, c, in)
	if err != nil {
		return nil, err
	}
	return a.simulateResult(results, page)
}
