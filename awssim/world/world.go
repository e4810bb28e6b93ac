package world

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Index prepares a loaded or generated world for lookups and checks it. The
// error names the offending field, e.g. "accounts[3].id".
func (w *World) Index() error {
	if w.Partition == "" {
		w.Partition = "aws"
	}
	if !orgIDRe.MatchString(w.OrganizationID) {
		return fmt.Errorf("organization_id: %q is not an organization ID (o- and 10 to 32 lower-case letters or digits)", w.OrganizationID)
	}
	if !rootIDRe.MatchString(w.RootID) {
		return fmt.Errorf("root_id: %q is not a root ID (r- and 4 to 32 lower-case letters or digits)", w.RootID)
	}
	if len(w.Regions) == 0 {
		return fmt.Errorf("regions: at least one region is required")
	}
	regions := map[string]bool{}
	for i, r := range w.Regions {
		if !regionRe.MatchString(r.Name) {
			return fmt.Errorf("regions[%d].name: %q is not a region name", i, r.Name)
		}
		regions[r.Name] = true
	}
	parents := map[string]bool{w.RootID: true}
	for i, ou := range w.OUs {
		if !ouIDRe.MatchString(ou.ID) {
			return fmt.Errorf("ous[%d].id: %q is not an OU ID (ou-xxxx-xxxxxxxx)", i, ou.ID)
		}
		if !parents[ou.Parent] {
			return fmt.Errorf("ous[%d].parent: %q is neither the root nor an OU listed before it", i, ou.Parent)
		}
		parents[ou.ID] = true
	}
	w.index = make(map[string]*Account, len(w.Accounts))
	for i, a := range w.Accounts {
		if !accountRe.MatchString(a.ID) {
			return fmt.Errorf("accounts[%d].id: %q is not a 12-digit account ID", i, a.ID)
		}
		if _, dup := w.index[a.ID]; dup {
			return fmt.Errorf("accounts[%d].id: %s appears twice", i, a.ID)
		}
		if a.Parent == "" {
			a.Parent = w.RootID
		}
		if !parents[a.Parent] {
			return fmt.Errorf("accounts[%d].parent: %q is neither the root nor a listed OU", i, a.Parent)
		}
		if a.Status == "" {
			a.Status = "ACTIVE"
		}
		for j, r := range a.EnabledOptInRegions {
			if !regions[r] {
				return fmt.Errorf("accounts[%d].enabled_opt_in_regions[%d]: %q is not in regions", i, j, r)
			}
		}
		if a.lazy == nil {
			for r := range a.Regional {
				if !regions[r] {
					return fmt.Errorf("accounts[%d].regional: %q is not in regions", i, r)
				}
			}
			for j, b := range a.Buckets {
				if !regions[b.Region] {
					return fmt.Errorf("accounts[%d].buckets[%d].region: %q is not in regions", i, j, b.Region)
				}
			}
		}
		w.index[a.ID] = a
	}
	if _, ok := w.index[w.ManagementAccount]; !ok {
		return fmt.Errorf("management_account: %q is not one of the accounts", w.ManagementAccount)
	}
	return nil
}

var (
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
	orgIDRe   = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	rootIDRe  = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	ouIDRe    = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
)

// Account returns an account by ID, its contents filled.
func (w *World) Account(id string) (*Account, bool) {
	a, ok := w.index[id]
	if !ok {
		return nil, false
	}
	a.fill()
	return a, true
}

// fill runs the lazy generator once.
func (a *Account) fill() {
	if a.lazy != nil {
		a.lazyOnce.Do(func() { a.lazy(a) })
	}
}

// RegionEnabled reports whether region exists and the account may use it.
func (w *World) RegionEnabled(a *Account, region string) bool {
	for _, r := range w.Regions {
		if r.Name == region {
			return !r.OptIn || slices.Contains(a.EnabledOptInRegions, region)
		}
	}
	return false
}

// RegionOptIn reports whether a region is an opt-in region.
func (w *World) RegionOptIn(region string) bool {
	for _, r := range w.Regions {
		if r.Name == region {
			return r.OptIn
		}
	}
	return false
}

// In returns the account's resources in a region (empty when it has none).
func (a *Account) In(region string) *Regional {
	a.fill()
	if r, ok := a.Regional[region]; ok {
		return r
	}
	return &Regional{}
}

// Role returns the account's role of that name.
func (a *Account) Role(name string) (*Role, bool) {
	a.fill()
	for _, r := range a.Roles {
		if r.Name == name {
			return r, true
		}
	}
	return nil, false
}

// ARN builds an ARN in the world's partition.
func (w *World) ARN(service, region, account, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", w.Partition, service, region, account, resource)
}

// Lock and Unlock guard the parts of the world the simulator writes: S3
// objects and Security Hub findings.
func (w *World) Lock()   { w.mu.Lock() }
func (w *World) Unlock() { w.mu.Unlock() }

// RLock and RUnlock guard reads of those parts.
func (w *World) RLock()   { w.mu.RLock() }
func (w *World) RUnlock() { w.mu.RUnlock() }

// Regional returns the account's resources in a region, creating the entry
// for writes. Callers hold the world's lock.
func (a *Account) RegionalForWrite(region string) *Regional {
	a.fill()
	if a.Regional == nil {
		a.Regional = map[string]*Regional{}
	}
	r, ok := a.Regional[region]
	if !ok {
		r = &Regional{}
		a.Regional[region] = r
	}
	return r
}

// Bucket returns the account's bucket of that name.
func (a *Account) Bucket(name string) (*Bucket, bool) {
	a.fill()
	for _, b := range a.Buckets {
		if b.Name == name {
			return b, true
		}
	}
	return nil, false
}

// AccountIDs lists the accounts' IDs in order.
func (w *World) AccountIDs() []string {
	ids := make([]string, len(w.Accounts))
	for i, a := range w.Accounts {
		ids[i] = a.ID
	}
	return ids
}

// InOrg reports whether a 12-digit ID is an account of the organization.
func (w *World) InOrg(id string) bool {
	_, ok := w.index[id]
	return ok
}

// OUPath returns the IDs from the root down to the account's parent.
func (w *World) OUPath(a *Account) []string {
	byID := map[string]*OU{}
	for _, ou := range w.OUs {
		byID[ou.ID] = ou
	}
	var path []string
	for p := a.Parent; p != ""; {
		path = append(path, p)
		ou, ok := byID[p]
		if !ok {
			break
		}
		p = ou.Parent
	}
	slices.Reverse(path)
	return path
}

// Title returns a readable name for an account.
func (a *Account) Title() string { return strings.TrimSpace(a.Name + " (" + a.ID + ")") }
