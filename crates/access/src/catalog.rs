//! What the access core needs of a product's scope catalog, and sets of a
//! catalog's scopes. Each product names its own scopes (SiteGPT's
//! `Scope`, SitePulse's `PulseScope`); the
//! set, its parsing and its algebra are one piece of code for both.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;

/// A product's scope catalog: a closed list of at most 64 scopes.
pub trait Catalog:
    Copy + Eq + Ord + Hash + fmt::Debug + fmt::Display + FromStr<Err = UnknownScope> + Send + Sync + 'static
{
    /// Every scope, in catalog order; each scope's [`Catalog::index`] is
    /// its position here.
    const ALL: &'static [Self];

    /// The wire name (`sites:read`), which never changes.
    fn as_str(self) -> &'static str;

    /// The scope's position in [`Catalog::ALL`].
    fn index(self) -> u8;

    /// One sentence for people: consent pages, help texts, tool lists.
    fn describe(self) -> std::borrow::Cow<'static, str>;
}

/// A string that is not in the scope catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope `{0}`")]
pub struct UnknownScope(pub String);

impl UnknownScope {
    /// The error for `name`, kept short however long the input was.
    pub fn named(name: &str) -> UnknownScope {
        UnknownScope(name.chars().take(64).collect())
    }
}

/// A set of one catalog's scopes as a bit set: cheap to copy, intersect and
/// compare.
pub struct Scopes<C>(u64, PhantomData<fn() -> C>);

impl<C> Clone for Scopes<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Scopes<C> {}

impl<C> PartialEq for Scopes<C> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<C> Eq for Scopes<C> {}

impl<C> Hash for Scopes<C> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl<C> Default for Scopes<C> {
    fn default() -> Self {
        Scopes::EMPTY
    }
}

impl<C> Scopes<C> {
    pub const EMPTY: Scopes<C> = Scopes(0, PhantomData);

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    #[must_use]
    pub const fn intersection(self, other: Scopes<C>) -> Scopes<C> {
        Scopes(self.0 & other.0, PhantomData)
    }

    #[must_use]
    pub const fn difference(self, other: Scopes<C>) -> Scopes<C> {
        Scopes(self.0 & !other.0, PhantomData)
    }

    #[must_use]
    pub const fn union(self, other: Scopes<C>) -> Scopes<C> {
        Scopes(self.0 | other.0, PhantomData)
    }

    pub const fn is_subset(self, other: Scopes<C>) -> bool {
        self.0 & !other.0 == 0
    }
}

impl<C: Catalog> Scopes<C> {
    pub fn all() -> Scopes<C> {
        Scopes(u64::MAX >> (64 - C::ALL.len()), PhantomData)
    }

    fn bit(scope: C) -> u64 {
        1 << scope.index()
    }

    pub fn contains(self, scope: C) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    pub fn insert(&mut self, scope: C) {
        self.0 |= Self::bit(scope);
    }

    pub fn remove(&mut self, scope: C) {
        self.0 &= !Self::bit(scope);
    }

    #[must_use]
    pub fn with(self, scope: C) -> Scopes<C> {
        Scopes(self.0 | Self::bit(scope), PhantomData)
    }

    #[must_use]
    pub fn without(self, scope: C) -> Scopes<C> {
        Scopes(self.0 & !Self::bit(scope), PhantomData)
    }

    /// The scopes in catalog order.
    pub fn iter(self) -> impl Iterator<Item = C> {
        C::ALL.iter().copied().filter(move |s| self.contains(*s))
    }

    pub fn to_vec(self) -> Vec<C> {
        self.iter().collect()
    }

    /// Space-separated scope names, as OAuth `scope` parameters and the store use.
    pub fn to_space_separated(self) -> String {
        self.iter().map(C::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Parses space-separated scope names; duplicates collapse.
    pub fn parse_space_separated(s: &str) -> Result<Scopes<C>, UnknownScope> {
        s.split_ascii_whitespace().map(str::parse::<C>).collect()
    }
}

impl<C: Catalog> FromIterator<C> for Scopes<C> {
    fn from_iter<I: IntoIterator<Item = C>>(iter: I) -> Self {
        let mut set = Scopes::EMPTY;
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

impl<C: Catalog> fmt::Debug for Scopes<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(C::as_str)).finish()
    }
}

/// `Display` and `serde` for a catalog type, by its wire name.
macro_rules! scope_names {
    ($scope:ty) => {
        impl std::fmt::Display for $scope {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $scope {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $scope {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use scope_names;

/// Checks what every catalog must hold: names unique and parsed back to
/// their scope, indexes their positions, at most 64 scopes.
pub fn check_catalog<C: Catalog>() -> Result<(), String> {
    if C::ALL.is_empty() || C::ALL.len() > 64 {
        return Err(format!("{} scopes: a catalog holds 1 to 64", C::ALL.len()));
    }
    for (i, &scope) in C::ALL.iter().enumerate() {
        if usize::from(scope.index()) != i {
            return Err(format!("{scope} is at {i} but its index is {}", scope.index()));
        }
        if scope.as_str().parse::<C>() != Ok(scope) {
            return Err(format!("{scope} does not parse back to itself"));
        }
        if scope.describe().trim().is_empty() {
            return Err(format!("{scope} has no description"));
        }
    }
    Ok(())
}
